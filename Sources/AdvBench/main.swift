// adv-bench: kernel and model benchmarks (`make bench`). Results go to BENCHMARKS.md by hand.
import Engine
print("benchmarks: none yet")
