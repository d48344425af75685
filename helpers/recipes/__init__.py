"""Self-contained files a learner copies: one per capability, standard library plus the pinned libraries, no `import helpers`."""
