    with open('big.bin', 'wb') as f:
        for _ in range(200):
            f.write(b'\0' * (1 << 20))
    return True
