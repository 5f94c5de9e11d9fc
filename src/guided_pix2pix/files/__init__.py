"""Files: image and array I/O, the file-value mapping, safe loading of untrusted files, atomic
writes and hashes. The bottom layer: it imports nothing else of this package but `errors`."""
