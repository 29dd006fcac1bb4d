/* SPDX-License-Identifier: Apache-2.0 */
/* fetch.c — blobs from the registry into the cache, `parallel` at a time on
 * the one multi handle.  Each goes to <hex>.partial under its lock, hashed
 * and counted as it streams (more bytes than the manifest says end the
 * transfer), renamed to <hex> when whole and matching; a mismatch deletes
 * it.  A .partial left by an earlier pull is hashed again and continued
 * with a Range request (206), or restarted if the server sends it all
 * (200).  A broken connection or a 5xx is tried again after a pause, from
 * where the bytes stopped. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nr-util.h"
#include "pull.h"

typedef enum { J_PENDING, J_LOCKWAIT, J_PAUSED, J_RUNNING, J_DONE } JobState;

typedef struct Job {
    const NrBlobRef *b;
    const char *hex;
    NrHttp *h;
    JobState state;
    int fd; /* <hex>.partial, locked */
    EVP_MD_CTX *md;
    uint64_t have; /* bytes in the .partial, all hashed */
    NrReq *req;
    char *url;
    int attempt, redirects;
    int64_t not_before, last_progress;
    bool started;      /* the current response's first body bytes seen */
    bool body_is_blob; /* they are the blob's (2xx) */
    bool overflow;     /* more than the manifest's size */
    bool restart;      /* a range we did not ask for: the .partial emptied */
    int werr;          /* errno of a failed write */
} Job;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void restart_hash(Job *j)
{
    EVP_DigestInit_ex(j->md, EVP_sha256(), NULL);
    j->have = 0;
}

static bool truncate_partial(Job *j)
{
    restart_hash(j);
    return ftruncate(j->fd, 0) == 0 && lseek(j->fd, 0, SEEK_SET) == 0;
}

/* the first bytes of a response: the blob's (from 0, or from where the
 * .partial ends) or an error page */
static bool first_bytes(Job *j, NrReq *r)
{
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    j->started = true;
    j->body_is_blob = status == 200 || status == 206;
    if (status == 200 && j->have > 0)
        return truncate_partial(j); /* no Range support: from the start */
    if (status == 206) {
        unsigned long long from = 0;
        if (!r->content_range || sscanf(r->content_range, "bytes %llu-", &from) != 1 ||
            from != j->have) {
            truncate_partial(j);
            j->restart = true;
            return false;
        }
    }
    return true;
}

static bool on_blob(NrReq *r, const char *buf, size_t len)
{
    Job *j = r->data;
    if (!j->started && !first_bytes(j, r))
        return false;
    if (!j->body_is_blob) {
        if (r->len + len <= (64u << 10)) {
            char *nb = realloc(r->body, r->len + len + 1);
            if (!nb)
                return false;
            r->body = nb;
            memcpy(r->body + r->len, buf, len);
            r->len += len;
            r->body[r->len] = '\0';
        }
        return true;
    }
    if (j->have + len > j->b->size) {
        j->overflow = true;
        return false;
    }
    if (nr_write_all(j->fd, buf, len) < 0) {
        j->werr = errno;
        return false;
    }
    EVP_DigestUpdate(j->md, buf, len);
    j->have += len;
    int64_t t = now_ms();
    if (t - j->last_progress >= 250 && j->have < j->b->size) {
        j->last_progress = t;
        nr_pull_status("progress %s %llu %llu", j->b->digest, (unsigned long long)j->have,
                       (unsigned long long)j->b->size);
    }
    return true;
}

static int send_req(Job *j, NrError *err)
{
    j->started = j->body_is_blob = j->overflow = false;
    j->req = nr_http_start(j->h, j->url, NULL, j->have);
    if (!j->req)
        return nr_error_msg(err, "cannot start a request");
    j->req->write = on_blob;
    j->req->data = j;
    j->state = J_RUNNING;
    return 0;
}

static void finish_ok(Job *j)
{
    if (j->fd >= 0)
        close(j->fd); /* the lock goes with it */
    j->fd = -1;
    j->state = J_DONE;
    nr_pull_status("blob %s done", j->b->digest);
}

/* the .partial is whole: verify, rename; 0 done, 1 start over, -1 error */
static int complete(Job *j, NrCache *c, NrError *err)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[65];
    EVP_DigestFinal_ex(j->md, md, &mdlen);
    nr_pull_sha256_hex(md, hex);
    if (strcmp(hex, j->hex) != 0) {
        nr_cache_discard(c, j->hex);
        return nr_error_msg(err,
                            "blob %s from registry %s does not match its digest (got sha256:%s)",
                            j->b->digest, j->h->registry, hex);
    }
    if (nr_cache_commit(c, j->hex, err) < 0)
        return -1;
    finish_ok(j);
    return 0;
}

/* the lock taken: hash what an earlier pull left, then ask for the rest */
static int begin(Job *j, NrCache *c, NrError *err)
{
    int rc = nr_cache_lock_partial(c, j->hex, &j->fd, err);
    if (rc < 0)
        return -1;
    if (rc == 2) { /* whole in the cache already: nothing downloaded */
        nr_pull_status("blob %s present", j->b->digest);
        finish_ok(j);
        return 0;
    }
    if (rc == 0) {
        j->state = J_LOCKWAIT; /* another pull downloads it: wait for its end */
        j->not_before = now_ms() + 100;
        return 0;
    }
    restart_hash(j);
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(j->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return nr_error_errno(err, "cannot read '%s/blobs/sha256/%s.partial'", c->dir, j->hex);
        if (n == 0)
            break;
        EVP_DigestUpdate(j->md, buf, (size_t)n);
        j->have += (uint64_t)n;
    }
    if (j->have > j->b->size && !truncate_partial(j))
        return nr_error_errno(err, "cannot truncate '%s/blobs/sha256/%s.partial'", c->dir, j->hex);
    if (j->have == j->b->size && j->have > 0) {
        NrError e = { 0 };
        if (complete(j, c, &e) == 0)
            return 0;
        /* a whole .partial that does not match: start again (discarded) */
        close(j->fd);
        j->fd = -1;
        return begin(j, c, err);
    }
    j->url = nr_strdup_printf("%s/v2/%s/blobs/%s", j->h->base, j->h->repo, j->b->digest);
    return send_req(j, err);
}

static int failed_status(Job *j, NrError *err)
{
    NrReq *r = j->req;
    char detail[256];
    nr_http_error_detail(r, detail, sizeof detail);
    if (r->status == 401 || r->status == 403)
        return nr_http_denied(j->h, j->h->repo, err);
    if (r->status == 404 && j->b->foreign) {
        nr_error_msg(err,
                     "blob %s is a foreign (non-distributable) layer that registry %s does not "
                     "serve; nroot does not fetch layers from third parties",
                     j->b->digest, j->h->registry);
        nr_error_hint(err, "copy the image with its foreign layers into the registry (skopeo "
                           "copy, or a registry that allows non-distributable artifacts)");
        return -1;
    }
    if (r->status == 404)
        return nr_error_msg(err, "registry %s has no blob %s", j->h->registry, j->b->digest);
    return nr_error_msg(err, "registry %s answered %ld for blob %s%s%s", j->h->registry, r->status,
                        j->b->digest, detail[0] ? ": " : "", detail);
}

/* a finished request of job j: the blob whole, or what to do next */
static int handle_done(Job *j, NrCache *c, NrError *err)
{
    NrReq *r = j->req;
    if (j->overflow) {
        nr_cache_discard(c, j->hex);
        return nr_error_msg(err, "blob %s from registry %s is larger than its size %llu",
                            j->b->digest, j->h->registry, (unsigned long long)j->b->size);
    }
    if (j->werr) {
        errno = j->werr;
        return nr_error_errno(err, "cannot write '%s/blobs/sha256/%s.partial'", c->dir, j->hex);
    }
    bool blob = r->status == 200 || r->status == 206;
    if (r->result == CURLE_OK && blob && j->have == j->b->size) {
        nr_http_req_free(j->h, r);
        j->req = NULL;
        return complete(j, c, err);
    }
    char *next = NULL;
    NrNext what;
    if (j->restart || (r->result == CURLE_OK && blob)) {
        /* a range we did not ask for (the .partial is emptied), or the
         * body ended early: again, from where the file is */
        what = NR_NEXT_RETRY;
        if (j->attempt >= NR_PULL_ATTEMPTS) {
            nr_error_msg(err, "blob %s from registry %s ended after %llu of %llu bytes",
                         j->b->digest, j->h->registry, (unsigned long long)j->have,
                         (unsigned long long)j->b->size);
            what = NR_NEXT_FAIL;
        }
    } else {
        what = nr_http_next(j->h, r, j->attempt, j->redirects, &next, err);
    }
    int rc = 0;
    switch (what) {
    case NR_NEXT_DONE: rc = failed_status(j, err); break;
    case NR_NEXT_FAIL: rc = -1; break;
    case NR_NEXT_RETRY:
        j->not_before = now_ms() + nr_http_backoff_ms(j->attempt);
        j->attempt++;
        j->state = J_PAUSED;
        break;
    case NR_NEXT_REDIRECT:
        free(j->url);
        j->url = next;
        j->redirects++;
        break;
    case NR_NEXT_AUTH: break;
    }
    nr_http_req_free(j->h, r);
    j->req = NULL;
    j->restart = false;
    if (rc == 0 && (what == NR_NEXT_REDIRECT || what == NR_NEXT_AUTH))
        rc = send_req(j, err);
    return rc;
}

static void job_clear(Job *j, NrHttp *h)
{
    if (j->req)
        nr_http_req_free(h, j->req);
    if (j->fd >= 0)
        close(j->fd);
    if (j->md)
        EVP_MD_CTX_free(j->md);
    free(j->url);
}

int nr_fetch_blobs(NrHttp *h, NrCache *c, const NrBlobRef *blobs, size_t n, int parallel,
                   NrError *err)
{
    Job *jobs = calloc(n ? n : 1, sizeof *jobs);
    if (!jobs)
        return nr_error_msg(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        jobs[i] = (Job){ .b = &blobs[i],
                         .hex = nr_pull_digest_hex(blobs[i].digest),
                         .h = h,
                         .fd = -1,
                         .attempt = 1,
                         .md = EVP_MD_CTX_new() };
        if (!jobs[i].md || !jobs[i].hex) {
            for (size_t k = 0; k <= i; k++)
                job_clear(&jobs[k], h);
            free(jobs);
            return nr_error_msg(err, "cannot set up the download of %s", blobs[i].digest);
        }
    }
    int rc = 0;
    for (;;) {
        int64_t t = now_ms();
        size_t active = 0, left = 0;
        int64_t wake = t + 1000;
        for (size_t i = 0; i < n; i++) {
            Job *j = &jobs[i];
            if (j->state == J_DONE)
                continue;
            left++;
            if (j->state == J_PENDING && active >= (size_t)parallel)
                continue;
            if ((j->state == J_LOCKWAIT || j->state == J_PAUSED) && j->not_before > t) {
                wake = j->not_before < wake ? j->not_before : wake;
                active++;
                continue;
            }
            if (j->state == J_PENDING || j->state == J_LOCKWAIT)
                rc = begin(j, c, err);
            else if (j->state == J_PAUSED)
                rc = send_req(j, err);
            if (rc < 0)
                goto out;
            if (j->state != J_DONE)
                active++;
            else
                left--;
        }
        if (left == 0)
            break;
        int timeout = (int)(wake - t);
        if ((rc = nr_http_step(h, timeout > 0 ? timeout : 0, err)) < 0)
            goto out;
        for (size_t i = 0; i < n; i++)
            if (jobs[i].state == J_RUNNING && jobs[i].req->done &&
                (rc = handle_done(&jobs[i], c, err)) < 0)
                goto out;
    }
out:
    for (size_t i = 0; i < n; i++)
        job_clear(&jobs[i], h);
    free(jobs);
    return rc;
}
