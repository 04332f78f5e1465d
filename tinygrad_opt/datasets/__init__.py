"""Data files shipped with the package, read by `tinygrad_opt.data`.

README.md here gives each file's source, licence and attribution.
"""
