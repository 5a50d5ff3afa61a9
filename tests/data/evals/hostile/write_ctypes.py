    import ctypes
    libc = ctypes.CDLL('libc.so.6')
    fd = libc.open(b'/tmp/assay_escape_test', 0o101, 0o644)
    libc.write(fd, b'escaped', 7)
    return True
