#!/usr/bin/env python3
"""Write a siege URL list over the demo API: /fib/<n>, /empty/<n>, /download/<n>."""
import random
import sys

base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8888"
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
rng = random.Random(42)
for _ in range(count):
    route = rng.choice(["fib", "empty", "download"])
    print("%s/%s/%d" % (base, route, rng.randint(1, 1024)))
