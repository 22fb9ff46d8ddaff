"""Model manifest (packaged as pipeline._models); weights live in the git-ignored store/."""
