#!/usr/bin/env bash
# Renders the demo compliance report and its screenshot for the docs:
#   docs/report.png  (and the HTML in $TMPDIR/residency-demo-report/report.html)
# The demo: a scan on the gdpr preset (before the DPO's decisions), a scan with the
# company's policy (waiver, approved transfer), and a flow audit of the sample log.
# Needs chromium (apt-get install chromium). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
work="${TMPDIR:-/tmp}/residency-demo-report"
rm -rf "$work" && mkdir -p "$work"
r() { ./target/release/residency "$@" --audit "$work/audit.sqlite" --audit-key "$work/audit.key"; }
r scan fixtures/demo/webinar-platform.yaml --format json --output /dev/null || true
r scan fixtures/demo/webinar-platform.yaml --policy fixtures/demo/policy.toml --format json --output /dev/null || true
r flows fixtures/flows/sample-vpc.log --format json --output /dev/null || true
./target/release/residency report --audit "$work/audit.sqlite" --audit-key "$work/audit.key" \
  --format html --output "$work/report.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,2400 \
  --screenshot="$PWD/docs/report.png" "file://$work/report.html" 2>/dev/null
echo "wrote docs/report.png from $work/report.html"
