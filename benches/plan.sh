#!/usr/bin/env bash
# Benchmark: residency on a 100,000-resource Terraform plan (close to 1 GB) against
# `jq empty` on the same file, in one run: wall time and peak RSS of each.
# Installs jq and GNU time if missing. Not part of CI.
#
#   bash benches/plan.sh [RESOURCES]     (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
need=()
command -v jq >/dev/null || need+=(jq)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet
work="${TMPDIR:-/tmp}/residency-plan-bench"
mkdir -p "$work"
plan="$work/plan-$n.json"
if [ ! -s "$plan" ]; then
  echo "generating $n resources ..."
  python3 benches/gen_plan.py "$plan" "$n"
fi
bytes=$(stat -c %s "$plan")
measure() { # label, command...: prints "label seconds maxrss_kib"
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" > /dev/null 2> "$work/stderr.txt" || true
  read -r secs rss < "$work/time.txt"
  echo "$label $secs $rss"
}
# Warm the page cache so both read from memory.
cat "$plan" > /dev/null
r=$(measure residency ./target/release/residency scan "$plan" --format json --output "$work/report.json" --fail-on never)
j=$(measure jq jq empty "$plan")
read -r _ rs rm <<<"$r"
read -r _ js jm <<<"$j"
findings=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['summary']['assets'], len(d['findings']))" "$work/report.json")
printf '\nplan: %s resources, %.0f MB (%s)\n' "$n" "$(echo "$bytes / 1000000" | bc -l)" "$plan"
printf 'residency: assets, findings = %s\n\n' "$findings"
printf '%-12s %10s %14s\n' tool seconds "peak RSS MiB"
printf '%-12s %10s %14.1f\n' residency "$rs" "$(echo "$rm / 1024" | bc -l)"
printf '%-12s %10s %14.1f\n' "jq empty" "$js" "$(echo "$jm / 1024" | bc -l)"
printf '\nresidency / jq time: %.3f   residency RSS / file size: %.3f\n' \
  "$(echo "$rs / $js" | bc -l)" "$(echo "$rm * 1024 / $bytes" | bc -l)"
