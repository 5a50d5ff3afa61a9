    import os
    os.system('touch /tmp/assay_escape_test')
    return True
