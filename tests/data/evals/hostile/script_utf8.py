    import sys
    sys.stdout.buffer.write(b'<script>alert(1)</script> \xff\xfe bad utf-8\n')
    sys.stdout.flush()
    return None
