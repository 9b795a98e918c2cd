#!/usr/bin/env bash
# Benchmark: `residency flows` on a 2,000,000-line VPC Flow Log against a Python
# reference (the `maxminddb` package, installed here if missing) and `wc -l`, in one
# run, on the same file: wall time (the fastest of 5 runs, 3 for Python, taken in
# turns), and peak RSS of residency (the highest of its runs). Not part of CI.
#
# The reference does the same job (per-destination state, classes, per-country rows
# with their top networks) and its answer is checked against residency's, field by
# field. Its `--countries-only` form, which sums flows and bytes per country and
# nothing else, is timed too: it is what this benchmark compared with before.
#
#   bash benches/flows.sh [LINES]     (default 2000000)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000000}"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
python3 -c "import maxminddb" 2>/dev/null || pip install -q maxminddb
cargo build --release --quiet
work="${TMPDIR:-/tmp}/residency-flows-bench"
mkdir -p "$work"
log="$work/vpc-$n.log"
[ -s "$log" ] || { echo "generating $n lines ..."; python3 benches/gen_flows.py "$log" "$n"; }
db=geodb/geo-whois-asn-country.mmdb
cat "$log" > /dev/null   # page cache: every tool reads from memory
run() { # label, command...: prints "label seconds maxrss_kib"
  # Wall time from the clock in nanoseconds (`time`'s own is in hundredths, too
  # coarse for `wc -l`), the same wrapper around every tool; peak RSS from `time`.
  local label="$1" t0 t1 rss; shift
  t0=$(date +%s%N)
  /usr/bin/time -f "%M" -o "$work/time.txt" "$@" > "$work/$label.out" 2> "$work/$label.err" || true
  t1=$(date +%s%N)
  read -r rss < "$work/time.txt"
  echo "$label $(echo "scale=3; ($t1 - $t0) / 1000000000" | bc -l) $rss"
}
# Five rounds, each running every tool once (Python in the first three only: it
# takes seconds), so that all three are measured over the same stretch of time:
# this kind of machine is shared, and its speed drifts by 20% and more between
# minutes. Each tool's figure is its fastest run; residency's peak RSS the highest.
r="" w="" p="" c=""
as_of=$(date -u +%F)
keep() { # best-so-far line, new line: the one with fewer seconds, the higher RSS
  local old="$1" new="$2" ot om nt nm
  [ -z "$old" ] && { echo "$new"; return; }
  read -r label ot om <<<"$old"; read -r _ nt nm <<<"$new"
  awk -v a="$nt" -v b="$ot" 'BEGIN{exit !(a<b)}' && ot="$nt"
  [ "$nm" -gt "$om" ] && om="$nm"
  echo "$label $ot $om"
}
for round in 1 2 3 4 5; do
  r=$(keep "$r" "$(run residency ./target/release/residency flows "$log" --format json --fail-on never --as-of "$as_of")")
  w=$(keep "$w" "$(run wc wc -l "$log")")
  [ "$round" -le 3 ] && p=$(keep "$p" "$(run python python3 benches/flows_reference.py "$log" "$db" --as-of "$as_of")")
  [ "$round" -le 3 ] && c=$(keep "$c" "$(run countries python3 benches/flows_reference.py "$log" "$db" --countries-only)")
done
read -r _ rs rm <<<"$r"; read -r _ ws _ <<<"$w"; read -r _ ps pm <<<"$p"; read -r _ cs _ <<<"$c"
# Same answer: the summary, and every country's row with its top networks.
python3 - "$work/residency.out" "$work/python.out" "$work/countries.out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2])); c = json.load(open(sys.argv[3]))
for k, v in p["summary"].items():
    assert r["summary"][k] == v, ("summary", k)
rows = {d["country"]: d for d in r["destinations"]}
assert [d["country"] for d in r["destinations"]] == [d["country"] for d in p["destinations"]], "country order differs"
for want in p["destinations"]:
    got = rows[want["country"]]
    for k, v in want.items():
        assert got[k] == v, ("country", want["country"], k)
# The smaller job's answer is part of it (it counts internal traffic as a country).
public = lambda m: {x: n for x, n in m.items() if x != "internal"}
for k in ("records", "rejected", "skipped", "malformed"):
    assert r["summary"][k] == c[k], ("countries only", k)
for k in ("flows_by_country", "bytes_by_country"):
    assert r["summary"][k] == public(c[k]), ("countries only", k)
print("residency and the reference agree on", r["summary"]["records"], "records,", len(rows), "countries and their top networks")
PY
printf '\nlog: %s lines, %.0f MB\n\n' "$n" "$(echo "$(stat -c %s "$log") / 1000000" | bc -l)"
printf '%-22s %9s %14s\n' tool seconds "peak RSS MiB"
printf '%-22s %9.3f %14.1f\n' "residency flows" "$rs" "$(echo "$rm / 1024" | bc -l)"
printf '%-22s %9.3f %14.1f\n' "python reference" "$ps" "$(echo "$pm / 1024" | bc -l)"
printf '%-22s %9.3f\n' "  countries only" "$cs"
printf '%-22s %9.3f\n' "wc -l" "$ws"
printf '\npython / residency: %.1fx (countries only: %.1fx)   residency / wc -l: %.2fx\n' \
  "$(echo "$ps / $rs" | bc -l)" "$(echo "$cs / $rs" | bc -l)" "$(echo "$rs / $ws" | bc -l)"
