"""Reference implementation for benches/flows.sh: the same job as `residency flows`
on a VPC Flow Log (default version-2 format), written plainly in Python with the
`maxminddb` package. It reads the log, skips REJECT/NODATA/SKIPDATA, classes each
destination (internal ranges, then the MMDB's country) with a per-address cache,
and sums flows and bytes per country.

usage: python3 flows_reference.py LOG MMDB
"""
import ipaddress, json, sys
import maxminddb

INTERNAL = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "::1/128", "fc00::/7", "fe80::/10", "2001:db8::/32")]

def main():
    log, mmdb = sys.argv[1], sys.argv[2]
    reader = maxminddb.open_database(mmdb)
    cache = {}
    flows, bytes_ = {}, {}
    records = rejected = skipped = malformed = 0
    with open(log) as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0] == "version":
                continue
            records += 1
            if len(fields) != 14:
                malformed += 1
                continue
            if fields[13] in ("NODATA", "SKIPDATA"):
                skipped += 1
                continue
            if fields[12] == "REJECT":
                rejected += 1
                continue
            dst = fields[4]
            key = cache.get(dst)
            if key is None:
                ip = ipaddress.ip_address(dst)
                if any(ip in n for n in INTERNAL if n.version == ip.version):
                    key = "internal"
                else:
                    rec = reader.get(dst) or {}
                    key = rec.get("country_code") or (rec.get("country") or {}).get("iso_code") or "unknown"
                cache[dst] = key
            flows[key] = flows.get(key, 0) + 1
            bytes_[key] = bytes_.get(key, 0) + int(fields[9])
    print(json.dumps({"records": records, "rejected": rejected, "skipped": skipped, "malformed": malformed,
                      "flows_by_country": flows, "bytes_by_country": bytes_}, sort_keys=True))

main()
