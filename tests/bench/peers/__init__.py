"""Stand-alone training scripts for the tools people would use instead of LayerLab. Each runs in
its own process on the same saved split, model, batch, optimizer and epochs, and prints one JSON
line: {"tool", "samples_per_s", "train_s", "test_accuracy"}. bench_peers.py compares them."""
