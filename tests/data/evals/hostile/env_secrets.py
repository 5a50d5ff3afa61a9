    import os
    print(sorted(os.environ.items()))
    return None
