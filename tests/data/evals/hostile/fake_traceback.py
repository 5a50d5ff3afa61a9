    # a decoy traceback printed last: the verdict must follow the exception the program
    # really raised, not the last exception-looking line of its output
    import sys
    sys.excepthook = lambda t, v, tb: sys.stderr.write(
        'Traceback (most recent call last):\n  File "<decoy>", line 1\nMemoryError\n')
    return False
