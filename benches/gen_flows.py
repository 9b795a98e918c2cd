"""Writes a VPC Flow Log (default version-2 format, with header) of N lines.
Destinations are drawn from a fixed pool of addresses spread over many countries
and internal ranges; 5% REJECT, 1% NODATA.

usage: python3 gen_flows.py OUT N
"""
import random, sys
out, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
pool = [f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}" for _ in range(20000)]
pool += [f"10.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}" for _ in range(2000)]
with open(out, "w") as f:
    f.write("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
    t = 1780000000
    for i in range(n):
        t += 1
        r = rnd.random()
        if r < 0.01:
            f.write(f"2 123456789012 eni-0a1b2c3d - - - - - - - {t} {t+60} - NODATA\n")
            continue
        action = "REJECT" if r < 0.06 else "ACCEPT"
        src = f"10.0.{i % 250}.{i % 200 + 1}"
        dst = pool[rnd.randrange(len(pool))]
        f.write(f"2 123456789012 eni-0a1b2c3d {src} {dst} {rnd.randint(1024, 65535)} {rnd.choice((443, 80, 5432, 25, 53))} 6 {rnd.randint(1, 50)} {rnd.randint(40, 90000)} {t} {t+60} {action} OK\n")
