print("benchmarks: see issue 2")
