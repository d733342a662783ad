"""Side-by-side benchmarks: vgkit against its baseline in the same run, as ratios."""
