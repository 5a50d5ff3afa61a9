    import os
    wrote = []
    for path in ['/tmp/assay_escape_test', '/work/main/assay_escape_test',
                 os.path.expanduser('~/../../../tmp/assay_escape_test'),
                 '../../../../../../tmp/assay_escape_test']:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, b'escaped')
            wrote.append(path)
        except OSError:
            pass
    for path in ['/tmp/assay_escape_test', '/work/main/assay_escape_test']:
        try:
            with open(path, 'w') as f:
                f.write('escaped')
            wrote.append(path)
        except OSError:
            pass
    return len(wrote) > 100
