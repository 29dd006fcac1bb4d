#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fuzz/coverage.py REPORT: line coverage of the functions the harnesses aim at, from
`llvm-cov report -show-functions` (make fuzz-coverage runs it); the rest of those
files (the import itself, locks, spawning) is reached by no harness."""
import re, sys
want = {
 'unpack/digest.c': 'nr_digest_is_hex nr_digest_parse'.split(),
 'unpack/json.c': 'nr_json_too_deep nr_json_parse nr_json_get_string nr_json_get_object nr_json_get_array'.split(),
 'unpack/config.c': 'put put_strings nr_config_host_arch nr_config_parse'.split(),
 'unpack/choose.c': 'nr_candidate_free norm_ref ref_matches list_names nr_choose_image'.split(),
 'unpack/manifest.c': 'nr_manifest_clear nr_manifest_init'.split(),
 'unpack/docker.c': 'nr_docker_manifest'.split(),
 'unpack/oci.c': 'is_index_type descriptor add_name collect_oci nr_oci_index nr_oci_manifest'.split(),
 'lib/util.c': 'unescape nr_kv_read nr_read_file'.split(),
 'state/ctr.c': 'read_live load_named load_live finish nr_ctr_list nr_ctr_list_free nr_ctr_find nr_ctr_name_valid'.split(),
 'state/ctr-config.c': 'ctr_kv plan_kv nr_ctr_read_kv nr_ctr_read_config nr_ctr_is_id parse_i64'.split(),
 'state/store.c': 'valid_dirname read_image_link live_image_link config_kv open_image info_kv scan_links read_sources nr_store_list nr_store_list_free source_key nr_store_link_dead find_id nr_store_resolve_key'.split(),
}
cur=None; tot={}; rows=[]
for line in open(sys.argv[1]):
    m=re.match(r"File '.*/src/(.*)':",line)
    if m: cur=m.group(1); continue
    f=line.split()
    if cur and len(f)==10:
        name=f[0].split(':')[-1]
        if name not in want.get(cur,[]): continue
        lines,miss=int(f[4]),int(f[5])
        t=tot.setdefault(cur,[0,0,0]); t[0]+=lines; t[1]+=miss; t[2]+=1
        if miss: rows.append((cur,name,lines,miss))
for k,(l,m,n) in tot.items(): print(f"{k}: {n} of {len(want[k])} functions listed, {l-m}/{l} lines = {100*(l-m)/l:.1f}%")
L=sum(v[0] for v in tot.values()); M=sum(v[1] for v in tot.values()); print(f"all: {L-M}/{L} = {100*(L-M)/L:.1f}%")
for r in rows: print("  missed:", r)
