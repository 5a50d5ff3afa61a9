    import os, signal
    os.killpg(0, signal.SIGTERM)
    return True
