/* SPDX-License-Identifier: Apache-2.0 */
/* values.h — the value parsers of run's and exec's options (values.c);
 * private to src/cli.  Each returns 0, or -1 with err set (exit 125). */
#pragma once
#include "nr-error.h"
#include "nr-plan.h"
#include "nr-util.h"

/* -e KEY=VALUE, or KEY (copied from nroot's environment if set there);
 * `where` ends the message ("" or " in 'FILE' line N") */
int nr_cli_add_env(NrStrv *env, const char *spec, const char *where, NrError *err);
/* --env-file: KEY=VALUE lines, '#' comments, at most 1 MiB, no NUL byte */
int nr_cli_read_env_file(NrStrv *env, const char *path, NrError *err);
/* -v HOST:CTR[:ro|rw|z|Z|rbind,...]: HOST must exist (resolved), CTR absolute */
int nr_cli_parse_volume(NrRunConfig *cfg, const char *spec, NrError *err);
/* -u USER[:GROUP]: names or numbers, no spaces or '/' */
int nr_cli_check_user(const char *spec, NrError *err);
/* --hostname: 1 to 64 letters, digits, '-', '_' and '.' */
int nr_cli_check_hostname(const char *h, NrError *err);
/* -p [IP:]HOSTPORT:PORT[/tcp|/udp], an IPv6 IP in brackets: appended to cfg->ports */
int nr_cli_parse_port(NrRunConfig *cfg, const char *spec, NrError *err);
/* --security-opt seccomp=unconfined|PROFILE, no-new-privileges */
int nr_cli_parse_security_opt(NrRunConfig *cfg, const char *spec, NrError *err);
/* --preserve-fds N (count: fds 3..3+N-1) or --preserve-fd FD[,FD...]:
 * appended to *v */
int nr_cli_add_preserve(int **v, size_t *n, const char *arg, bool count, NrError *err);
/* the preserved fds complete: PMI_FD of the command's environment (-e, or
 * the host's with env_host) added, sorted, duplicates dropped, each
 * checked open in nroot; the caller's fds are marked close-on-exec, so
 * that nothing but the command (payload.c) inherits them */
int nr_cli_finish_preserve(int **v, size_t *n, const NrStrv *env, bool env_host, NrError *err);
