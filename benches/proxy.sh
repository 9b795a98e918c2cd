#!/usr/bin/env bash
# Benchmark: residency's egress proxy against Squid (Debian) with an equivalent
# allow-list, and against going direct, on loopback only, in one run:
#   - plain-HTTP req/s and latency over 64 keep-alive connections, as fast as
#     answers come and at a fixed 5,000 req/s;
#   - CONNECT req/s, one tunnel per request;
#   - a 2 GB download through a tunnel (HAProxy's splice relay as a reference);
#   - RSS with 10,000 idle connections;
#   - RSS and descriptors with 2,000 idle CONNECT tunnels.
# Not part of CI.
#
#   bash benches/proxy.sh [SECONDS]     (default 10 per measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # 10,000 idle connections need the room
command -v squid >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq squid >/dev/null; }
# HAProxy relaying TCP with splice: a reference for what any relay costs on this machine.
command -v haproxy >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }
cargo build --release --quiet
load=$(cargo bench --bench proxy_load --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys; print([j["executable"] for j in map(json.loads, sys.stdin) if j.get("executable") and j["target"]["name"] == "proxy_load"][-1])')
work="${TMPDIR:-/tmp}/residency-proxy-bench"
rm -rf "$work" && mkdir -p "$work"
origin=127.0.0.1:18080 rp=127.0.0.1:13128 sp=127.0.0.1:13129 hp=127.0.0.1:13130
cat > "$work/policy.toml" <<TOML
[policy]
name = "bench"
extends = "gdpr"
[proxy]
ports = [18080]
internal_allowed_cidrs = ["127.0.0.1/32"]
TOML
cat > "$work/squid.conf" <<CONF
http_port $sp
acl origin dst 127.0.0.1/32
acl origin_port port 18080
acl CONNECT method CONNECT
http_access allow origin origin_port
http_access deny all
cache deny all
access_log none
cache_log $work/squid-cache.log
pid_filename $work/squid.pid
coredump_dir $work
max_filedescriptors 65536
shutdown_lifetime 0 seconds
CONF
cat > "$work/haproxy.cfg" <<CONF
global
  maxconn 1000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option splice-auto
frontend relay
  bind $hp
  default_backend origin
backend origin
  server origin $origin
CONF
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
"$load" origin $origin 2>/dev/null & pids+=($!)
./target/release/residency proxy --listen $rp --policy "$work/policy.toml" --log none --max-connections 60000 2>"$work/residency.log" & rpid=$!; pids+=($rpid)
squid -N -f "$work/squid.conf" 2>"$work/squid.log" & spid=$!; pids+=($spid)
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 & pids+=($!)
sleep 3
kv() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
echo "== plain HTTP, 64 keep-alive connections, ${secs}s each"
hd=$("$load" http direct $origin 64 "$secs"); echo "direct     $hd"
hr=$("$load" http $rp $origin 64 "$secs");    echo "residency  $hr"
hs=$("$load" http $sp $origin 64 "$secs");    echo "squid      $hs"
rate=5000
echo "== plain HTTP at a fixed $rate req/s over 64 keep-alive connections, ${secs}s each"
pd=$("$load" http direct $origin 64 "$secs" $rate); echo "direct     $pd"
pr=$("$load" http $rp $origin 64 "$secs" $rate);    echo "residency  $pr"
ps_=$("$load" http $sp $origin 64 "$secs" $rate);   echo "squid      $ps_"
echo "== CONNECT, one tunnel per request, 64 at a time, ${secs}s each"
hz=$(getconf CLK_TCK)
# CPU per tunnel in each proxy's process, user and kernel, from /proc.
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
per_tunnel() { # pid, "user0 sys0", load output: "user_us=… sys_us=…"
  local u0 s0 u1 s1 n
  read -r u0 s0 <<<"$2"; read -r u1 s1 < <(ticks "$1")
  n=$(echo "$3" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
  echo "user_us=$(( (u1 - u0) * 1000000 / hz / n )) sys_us=$(( (s1 - s0) * 1000000 / hz / n ))"
}
t=$(ticks $rpid); cr=$("$load" connect $rp $origin 64 "$secs"); crc=$(per_tunnel $rpid "$t" "$cr"); echo "residency  $cr  $crc"
t=$(ticks $spid); cs=$("$load" connect $sp $origin 64 "$secs"); csc=$(per_tunnel $spid "$t" "$cs"); echo "squid      $cs  $csc"
echo "== bulk download through a tunnel (2 GB; direct and through residency: the fastest of 3, alternating)"
# CPU per GB moved, from /proc: the whole machine's busy time, and the proxy's own.
# A relay carries each byte over two TCP connections, so the kernel's work per GB
# about doubles, most of it in the client's and origin's processes. When the
# direct download already keeps every core busy, the ratio of the two is the most
# the relayed download can reach on this machine. A single download can be slowed
# by anything else the machine does, hence the fastest of three.
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
own() { awk '{print $14+$15}' "/proc/$rpid/stat"; }
per_gb() { echo "scale=3; ($2 - $1) / $hz / 2" | bc; }
faster() { awk -v a="$(kv "$1" mb_per_s)" -v b="$(kv "$2" mb_per_s)" 'BEGIN{exit !(b == "" || a > b)}'; }
bd="" br=""
for _ in 1 2 3; do
  m0=$(busy)
  d=$("$load" bulk direct $origin 2000000000)
  m1=$(busy); o1=$(own)
  r=$("$load" bulk $rp $origin 2000000000)
  m2=$(busy); o2=$(own)
  echo "direct     $d  busy_core_s_per_gb=$(per_gb "$m0" "$m1")"
  echo "residency  $r  busy_core_s_per_gb=$(per_gb "$m1" "$m2") own_core_s_per_gb=$(per_gb "$o1" "$o2")"
  if faster "$d" "$bd"; then bd=$d; cpu_direct=$(per_gb "$m0" "$m1"); fi
  if faster "$r" "$br"; then br=$r; cpu_proxied=$(per_gb "$m1" "$m2"); cpu_own=$(per_gb "$o1" "$o2"); fi
done
bs=$("$load" bulk $sp $origin 2000000000);    echo "squid      $bs"
bh=$("$load" bulk direct $hp 2000000000);     echo "haproxy    $bh   (plain TCP relay with splice, no CONNECT: a reference)"
echo "== 10,000 idle connections"
ir=$("$load" idle $rp 10000 $rpid); echo "residency  $ir"
is=$("$load" idle $sp 10000 $spid); echo "squid      $is"
echo "== 2,000 CONNECT tunnels, one request each, then idle"
tr=$("$load" tunnels $rp $origin 2000 $rpid); echo "residency  $tr"
ts=$("$load" tunnels $sp $origin 2000 $spid); echo "squid      $ts"
python3 - "$hd" "$hr" "$hs" "$cr" "$cs" "$bd" "$br" "$bs" "$ir" "$is" "$pd" "$pr" "$ps_" "$bh" \
  "direct=$cpu_direct proxied=$cpu_proxied own=$cpu_own cores=$(nproc)" "$crc" "$csc" "$tr" "$ts" <<'PY'
import sys
d = [dict(kv.split("=") for kv in a.split()) for a in sys.argv[1:]]
hd, hr, hs, cr, cs, bd, br, bs, ir, is_, pd, pr, ps, bh, cpu, crc, csc, tr, ts = d
f = lambda x, k: float(x[k])
print()
print(f"plain HTTP req/s: residency {f(hr,'rps'):.0f}, squid {f(hs,'rps'):.0f}, direct {f(hd,'rps'):.0f}  -> residency/squid {f(hr,'rps')/f(hs,'rps'):.2f}x (goal >= 2x)")
print(f"CONNECT req/s:    residency {f(cr,'rps'):.0f}, squid {f(cs,'rps'):.0f}  -> {f(cr,'rps')/f(cs,'rps'):.2f}x; "
      f"CPU per tunnel: residency {crc['user_us']} us user + {crc['sys_us']} us kernel, squid {csc['user_us']} + {csc['sys_us']}")
print(f"p99 added latency, 64 connections as fast as answers come: residency {f(hr,'p99_ms')-f(hd,'p99_ms'):.3f} ms, squid {f(hs,'p99_ms')-f(hd,'p99_ms'):.3f} ms; p50 residency {f(hr,'p50_ms'):.3f} ms, direct {f(hd,'p50_ms'):.3f} ms")
print(f"p99 added latency, 64 connections at {pd['rps']} req/s: residency {f(pr,'p99_ms')-f(pd,'p99_ms'):.3f} ms, squid {f(ps,'p99_ms')-f(pd,'p99_ms'):.3f} ms (goal <= 1 ms); p50 added residency {f(pr,'p50_ms')-f(pd,'p50_ms'):.3f} ms, squid {f(ps,'p50_ms')-f(pd,'p50_ms'):.3f} ms")
print(f"bulk through CONNECT: residency {f(br,'mb_per_s'):.0f} MB/s, squid {f(bs,'mb_per_s'):.0f} MB/s, direct {f(bd,'mb_per_s'):.0f} MB/s -> residency/direct {f(br,'mb_per_s')/f(bd,'mb_per_s'):.2f}x (goal >= 0.9x); haproxy TCP relay {f(bh,'mb_per_s'):.0f} MB/s ({f(bh,'mb_per_s')/f(bd,'mb_per_s'):.2f}x)")
print(f"CPU per GB moved: direct {cpu['direct']} core-s, through residency {cpu['proxied']} core-s of which residency {cpu['own']}; "
      f"with {cpu['cores']} cores shared by client, origin and proxy, a relayed download can reach about "
      f"{f(cpu,'direct')/f(cpu,'proxied'):.2f}x direct")
print(f"RSS with {ir['connections']} idle connections: residency {f(ir,'rss_idle_mib'):.1f} MiB (goal <= 150), squid {f(is_,'rss_idle_mib'):.1f} MiB")
print(f"{tr['tunnels']} idle tunnels: residency {f(tr,'rss_idle_mib'):.1f} MiB, {tr['sockets']} sockets and {tr['pipes']} pipe descriptors; "
      f"squid {f(ts,'rss_idle_mib'):.1f} MiB, {ts['sockets']} sockets and {ts['pipes']} pipe descriptors")
PY
