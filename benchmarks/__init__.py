"""Side-by-side benchmarks of SASRec Studio's core against RecTools 0.19 (see README.md)."""
