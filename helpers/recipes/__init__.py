"""Self-contained files a learner copies into their own project: standard library and the pinned libraries only."""
