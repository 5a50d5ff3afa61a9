#!/usr/bin/env python3
"""Generate tests/data/safety/pii_corpus.txt: labelled positive and near-miss negative
cases for every PII type (seeded, reproducible: `python3 gen_pii_corpus.py > pii_corpus.txt`).

Case format, one per line: TYPE<TAB>text. TYPE says which type the case exercises; the
text marks every expected finding as [[TYPE|span]] (a case without markers is a negative
for TYPE: nothing at all may be found in it). Escapes in text: \\n newline, \\t tab.
All values are synthetic; checksums are computed here, independently of the C code.
"""
import hashlib
import random

R = random.Random(20261123)
cases = []


def add(t, text):
    cases.append((t, text))


def luhn_ok(d):
    s = 0
    for i, ch in enumerate(reversed(d)):
        x = int(ch)
        if i % 2:
            x *= 2
            if x > 9:
                x -= 9
        s += x
    return s % 10 == 0


def luhn_complete(prefix, n):
    body = prefix + ''.join(R.choice('0123456789') for _ in range(n - len(prefix) - 1))
    for c in '0123456789':
        if luhn_ok(body + c):
            return body + c


def luhn_break(d):
    last = int(d[-1])
    return d[:-1] + str((last + 1 + R.randrange(8)) % 10)


def group(d, sizes, sep):
    out, i = [], 0
    for s in sizes:
        out.append(d[i:i + s])
        i += s
    return sep.join(out)


# ---- CREDIT_CARD ----
card_ctx = ['My card number is {}.', 'Charge it to my visa {} please.', 'cc: {}',
            'Payment with {} failed.', 'Use the Mastercard {} for the order.']
for i in range(24):
    kind = i % 4
    if kind == 0:
        d = luhn_complete('4', 16); txt = group(d, [4, 4, 4, 4], R.choice([' ', '-', '']))
    elif kind == 1:
        d = luhn_complete(str(R.randint(51, 55)), 16); txt = group(d, [4, 4, 4, 4], ' ')
    elif kind == 2:
        d = luhn_complete(R.choice(['34', '37']), 15); txt = group(d, [4, 6, 5], R.choice([' ', '-']))
    else:
        d = luhn_complete('6011', 16); txt = d
    add('CREDIT_CARD', R.choice(card_ctx).format('[[CREDIT_CARD|%s]]' % txt))
for i in range(24):
    kind = i % 3
    if kind == 0:  # right shape, wrong checksum
        d = luhn_break(luhn_complete('4', 16)); txt = group(d, [4, 4, 4, 4], ' ')
    elif kind == 1:  # Luhn-valid but no issuer uses the prefix
        d = luhn_complete('9', 16); txt = d
    else:  # mixed separators
        d = luhn_complete('4', 16); txt = d[:4] + ' ' + d[4:8] + '-' + d[8:12] + ' ' + d[12:]
    add('CREDIT_CARD', R.choice(card_ctx).format(txt))

# ---- US_SSN / US_ITIN ----
def ssn():
    while True:
        a = R.randint(1, 899)
        if a != 666:
            return '%03d' % a, '%02d' % R.randint(1, 99), '%04d' % R.randint(1, 9999)

for i in range(24):
    a, g, s = ssn()
    sep = '-' if i % 3 else ' '
    tmpl = R.choice(['My SSN is {}.', 'social security number: {}', 'SSN {} on file',
                     'Employee {} (SSN) verified'])
    add('US_SSN', tmpl.format('[[US_SSN|%s%s%s%s%s]]' % (a, sep, g, sep, s)))
for i in range(24):
    k = i % 6
    a, g, s = ssn()
    if k == 0:
        v = '000-%s-%s' % (g, s)
    elif k == 1:
        v = '666-%s-%s' % (g, s)
    elif k == 2:
        v = '%s-00-%s' % (a, s)
    elif k == 3:
        v = '%s-%s-0000' % (a, g)
    elif k == 4:
        v = '%s%s%s' % (a, g, s)  # bare digits without context
    else:
        v = '%s-%s %s' % (a, g, s)  # mixed separators
    tmpl = 'SSN: {}' if k < 4 or k == 5 else 'Order {} shipped.'
    add('US_SSN', tmpl.format(v))

def itin():
    g = R.choice(list(range(50, 66)) + list(range(70, 89)) + [90, 91, 92] + list(range(94, 100)))
    return '9%02d' % R.randint(0, 99), '%02d' % g, '%04d' % R.randint(1, 9999)

for i in range(22):
    a, g, s = itin()
    add('US_ITIN', R.choice(['ITIN {}', 'My taxpayer id is {}.', 'Filed with {} last year.']).format(
        '[[US_ITIN|%s-%s-%s]]' % (a, g, s)))
for i in range(22):
    a, g, s = itin()
    if i % 2:
        v = '%s-%02d-%s' % (a, R.choice([10, 20, 30, 40, 89, 93]), s)  # group outside IRS ranges
        add('US_ITIN', 'ITIN {}'.format(v))
    else:
        add('US_ITIN', 'Ticket {} closed.'.format(a + g + s))  # bare, no context

# ---- IBAN_CODE ----
IBAN_LEN = {'GB': 22, 'DE': 22, 'FR': 27, 'ES': 24, 'IT': 27, 'NL': 18, 'BE': 16, 'CH': 21}

def iban_make(cc):
    n = IBAN_LEN[cc]
    if cc in ('GB', 'NL'):
        bban = ''.join(R.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZ') for _ in range(4)) + \
            ''.join(R.choice('0123456789') for _ in range(n - 8))
    else:
        bban = ''.join(R.choice('0123456789') for _ in range(n - 4))
    num = ''.join(str(int(c, 36)) for c in bban + cc + '00')
    chk = 98 - int(num) % 97
    return cc + '%02d' % chk + bban

for i in range(24):
    v = iban_make(R.choice(list(IBAN_LEN)))
    if i % 3 == 0:
        v = ' '.join(v[j:j + 4] for j in range(0, len(v), 4))
    elif i % 3 == 1:
        v = v.lower() if i % 2 else v
    add('IBAN_CODE', R.choice(['My IBAN is {}', 'transfer to {} today', 'Account: {}.']).format(
        '[[IBAN_CODE|%s]]' % v))
for i in range(24):
    v = iban_make(R.choice(list(IBAN_LEN)))
    if i % 2:
        v = v[:2] + '%02d' % ((int(v[2:4]) + 1) % 100) + v[4:]  # wrong check digits
    else:
        v = v + '7'  # wrong length for the country
    add('IBAN_CODE', 'My IBAN is {}'.format(v))

# ---- EMAIL_ADDRESS ----
names = ['alice', 'bob.smith', 'c.jones+news', 'dev_team', 'j.o.doe', 'maria-luisa', 'x9', 'info']
doms = ['example.com', 'mail.example.org', 'corp.co.uk', 'uni-bonn.de', 'example.io']
for i in range(24):
    e = '%s%d@%s' % (R.choice(names), i, R.choice(doms))
    add('EMAIL_ADDRESS', R.choice(['Write to {}.', 'email: {}', 'Contact <{}> for access',
                                   'cc {}, thanks']).format('[[EMAIL_ADDRESS|%s]]' % e))
for i in range(22):
    k = i % 4
    if k == 0:
        v = 'user%d@localhost' % i
    elif k == 1:
        v = 'name%d@example' % i
    elif k == 2:
        v = '@handle%d on twitter' % i
    else:
        v = 'user%d at example dot com' % i
    add('EMAIL_ADDRESS', 'Reach {}'.format(v))

# ---- PHONE_NUMBER ----
def nanp():
    return '%d%02d' % (R.randint(2, 9), R.randint(0, 99)), '%d%02d' % (R.randint(2, 9), R.randint(0, 99)), '%04d' % R.randint(0, 9999)

for i in range(26):
    k = i % 6
    if k == 0:
        a, b, c = nanp(); v = '(%s) %s-%s' % (a, b, c)
    elif k == 1:
        a, b, c = nanp(); v = '%s-%s-%s' % (a, b, c)
    elif k == 2:
        v = '+44 20 %04d %04d' % (R.randint(1000, 9999), R.randint(0, 9999))
    elif k == 3:
        v = '+49 30 %08d' % R.randint(10000000, 99999999)
    elif k == 4:
        v = '+86 139 %04d %04d' % (R.randint(0, 9999), R.randint(0, 9999))
    else:
        v = '+91 98%03d %05d' % (R.randint(0, 999), R.randint(0, 99999))
    add('PHONE_NUMBER', R.choice(['Call me at {}.', 'phone: {}', 'You can reach the desk on {}',
                                  'Mobile {} after 5pm']).format('[[PHONE_NUMBER|%s]]' % v))
for i in range(22):
    k = i % 4
    if k == 0:
        v = '(%d%02d) %d%02d-%04d' % (R.randint(0, 1), R.randint(0, 99), R.randint(2, 9), R.randint(0, 99), R.randint(0, 9999))  # area code 0xx/1xx
    elif k == 1:
        v = '%d' % R.randint(1000000, 9999999)  # bare 7 digits, no context
    elif k == 2:
        v = '555-0%d' % R.randint(100, 999)  # too short
    else:
        v = '%d.%d.%d' % (R.randint(1, 9), R.randint(0, 30), R.randint(0, 99))  # a version
    add('PHONE_NUMBER', 'Build {} passed all checks.'.format(v) if k != 0 else 'Ref {} now'.format(v))

# ---- IP_ADDRESS ----
for i in range(24):
    if i % 3 == 2:
        v = R.choice(['2001:db8:%x::%x' % (R.randint(1, 0xffff), R.randint(1, 0xffff)),
                      'fe80::%x:%x:%x:%x' % tuple(R.randint(1, 0xffff) for _ in range(4))])
    else:
        v = '%d.%d.%d.%d' % (R.randint(1, 223), R.randint(0, 255), R.randint(0, 255), R.randint(1, 254))
    add('IP_ADDRESS', R.choice(['Connection from {} refused', 'host {} is down', 'ip={}',
                                'Server at {} responded']).format('[[IP_ADDRESS|%s]]' % v))
for i in range(22):
    k = i % 4
    if k == 0:
        v = '%d.%d.%d.%d' % (R.randint(256, 999), R.randint(0, 255), R.randint(0, 255), R.randint(0, 255))
    elif k == 1:
        v = '%d.%d.%d' % (R.randint(1, 255), R.randint(0, 255), R.randint(0, 255))
    elif k == 2:
        v = '%02d:%02d:%02d' % (R.randint(0, 23), R.randint(0, 59), R.randint(0, 59))
    else:
        v = 'std::vector'
    add('IP_ADDRESS', 'Value {} logged'.format(v))

# ---- MAC_ADDRESS ----
def mac(sep):
    return sep.join('%02X' % R.randint(0, 255) for _ in range(6))

for i in range(22):
    v = mac(':') if i % 3 == 0 else (mac('-') if i % 3 == 1 else
                                     '%04x.%04x.%04x' % (R.randint(0, 65535), R.randint(0, 65535), R.randint(0, 65535)))
    add('MAC_ADDRESS', R.choice(['device {} joined', 'MAC address: {}', 'hwaddr {}']).format(
        '[[MAC_ADDRESS|%s]]' % v))
for i in range(22):
    k = i % 3
    if k == 0:
        v = ':'.join('%02X' % R.randint(0, 255) for _ in range(5))  # five groups
    elif k == 1:
        v = mac(':')[:-3] + '-' + mac(':')[-2:]  # mixed separators
    else:
        v = ':'.join('%02X' % R.randint(0, 255) for _ in range(7))  # seven groups
    add('MAC_ADDRESS', 'device {} joined'.format(v))

# ---- URL_BASIC_AUTH ----
for i in range(22):
    v = '%s://%s:%s@%s' % (R.choice(['https', 'postgres', 'ftp', 'redis', 'mongodb']),
                           R.choice(['admin', 'deploy', 'u%d' % i]),
                           ''.join(R.choice('abcdefghijkLMNOP0123456789') for _ in range(12)),
                           R.choice(['db.internal', 'example.com', 'host%d.example.net' % i]))
    add('URL_BASIC_AUTH', R.choice(['DATABASE_URL {} ', 'clone {} now', 'see {} for details']).format(
        '[[URL_BASIC_AUTH|%s]]' % v))
for i in range(22):
    v = R.choice(['https://example.com/u%d' % i, 'https://user%d@example.com/' % i,
                  'mailto:bob%d@' % i, 'http://example.org:8080/path%d' % i])
    add('URL_BASIC_AUTH', 'see {} for details'.format(v))

# ---- DATE_OF_BIRTH ----
MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
          'September', 'October', 'November', 'December']
for i in range(24):
    y, m, d = R.randint(1930, 2010), R.randint(1, 12), R.randint(1, 28)
    k = i % 4
    v = ['%04d-%02d-%02d' % (y, m, d), '%02d/%02d/%04d' % (m, d, y), '%s %d, %d' % (MONTHS[m - 1], d, y),
         '%d %s %d' % (d, MONTHS[m - 1], y)][k]
    add('DATE_OF_BIRTH', R.choice(['I was born on {}.', 'DOB: {}', 'Date of birth {}',
                                   'birthday {} (please verify)']).format('[[DATE_OF_BIRTH|%s]]' % v))
for i in range(24):
    y, m, d = R.randint(1930, 2010), R.randint(1, 12), R.randint(1, 28)
    k = i % 3
    if k == 0:
        add('DATE_OF_BIRTH', 'The meeting is on {}.'.format('%04d-%02d-%02d' % (y, m, d)))  # no context
    elif k == 1:
        add('DATE_OF_BIRTH', 'born on {}'.format('%04d-%02d-%02d' % (y, 13 + m % 5, d)))  # month 13+
    else:
        add('DATE_OF_BIRTH', 'Invoice dated {} {}, {}.'.format(MONTHS[m - 1], d, y))

# ---- US_PASSPORT / US_DRIVER_LICENSE ----
for i in range(22):
    v = ('%09d' % R.randint(100000000, 999999999)) if i % 2 else '%s%08d' % (R.choice('ACEFGHKLMNPRSTUVWXYZ'), R.randint(0, 99999999))
    add('US_PASSPORT', R.choice(['passport number {}', 'My passport is {}.', 'Passport no: {}']).format(
        '[[US_PASSPORT|%s]]' % v))
for i in range(22):
    v = '%s%08d' % (R.choice('ACEFGHKLMNPRSTUVWXYZ'), R.randint(0, 99999999))
    add('US_PASSPORT', R.choice(['Order {} shipped', 'Reference {} attached', 'Part {} in stock']).format(v))
for i in range(22):
    v = ['%s%07d' % (R.choice('ABDFGHKMNPRSTVWY'), R.randint(0, 9999999)), '%08d' % R.randint(10000000, 99999999),
         '%s%03d-%04d-%04d' % (R.choice('ABDFGHKMNPRSTVWY'), R.randint(0, 999), R.randint(0, 9999), R.randint(0, 9999))][i % 3]
    add('US_DRIVER_LICENSE', R.choice(["driver's license number {}", 'DL# {}', 'Driving licence {} issued']).format(
        '[[US_DRIVER_LICENSE|%s]]' % v))
for i in range(22):
    v = ['%s%07d' % (R.choice('ABDFGHKMNPRSTVWY'), R.randint(0, 9999999)), '%08d' % R.randint(10000000, 99999999)][i % 2]
    add('US_DRIVER_LICENSE', R.choice(['Invoice {} paid', 'Batch {} released', 'Seat {} booked']).format(v))

# ---- UK_NHS ----
def nhs():
    while True:
        d = [R.randint(0, 9) for _ in range(9)]
        s = sum(x * (10 - i) for i, x in enumerate(d))
        c = 11 - s % 11
        c = 0 if c == 11 else c
        if c != 10:
            return ''.join(map(str, d)) + str(c)

for i in range(22):
    v = nhs()
    v = v if i % 2 else '%s %s %s' % (v[:3], v[3:6], v[6:])
    add('UK_NHS', R.choice(['NHS number {}', 'Patient NHS no. {}', 'my nhs number is {}']).format('[[UK_NHS|%s]]' % v))
for i in range(22):
    v = nhs()
    if i % 2:
        v = v[:9] + str((int(v[9]) + 1) % 10)
        add('UK_NHS', 'NHS number {}'.format('%s %s %s' % (v[:3], v[3:6], v[6:])))
    else:
        add('UK_NHS', 'Ref {} processed'.format(v))

# ---- CN_RESIDENT_ID ----
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
def cnid(valid=True):
    body = '%d%05d%04d%02d%02d%03d' % (R.randint(1, 6), R.randint(0, 99999), R.randint(1940, 2005),
                                       R.randint(1, 12), R.randint(1, 28), R.randint(0, 999))
    c = '10X98765432'[sum(int(x) * w for x, w in zip(body, W)) % 11]
    if not valid:
        c = '10X98765432'[('10X98765432'.index(c) + 1) % 11]
    return body + c

for i in range(22):
    add('CN_RESIDENT_ID', R.choice(['身份证号：{}', 'resident id {}', 'ID card: {}']).format('[[CN_RESIDENT_ID|%s]]' % cnid()))
for i in range(22):
    if i % 2:
        add('CN_RESIDENT_ID', '身份证号：{}'.format(cnid(False)))
    else:
        v = cnid()
        v = v[:10] + '13' + v[12:]  # month 13 (checksum no longer right either)
        add('CN_RESIDENT_ID', 'resident id {}'.format(v))

# ---- IN_AADHAAR ----
VD = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
      [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
      [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
VP = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
      [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
      [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]
VINV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]
def verhoeff_check(body):
    c = 0
    for i, ch in enumerate(reversed(body)):
        c = VD[c][VP[(i + 1) % 8][int(ch)]]
    return str(VINV[c])

def aadhaar(valid=True):
    body = str(R.randint(2, 9)) + ''.join(R.choice('0123456789') for _ in range(10))
    c = verhoeff_check(body)
    if not valid:
        c = str((int(c) + 1 + R.randrange(8)) % 10)
    return body + c

for i in range(22):
    v = aadhaar()
    if i % 2:
        v = '%s %s %s' % (v[:4], v[4:8], v[8:])
        add('IN_AADHAAR', R.choice(['{} is on the form', 'ID {} attached']).format('[[IN_AADHAAR|%s]]' % v))
    else:
        add('IN_AADHAAR', R.choice(['Aadhaar {}', 'my aadhaar number is {}']).format('[[IN_AADHAAR|%s]]' % v))
for i in range(22):
    v = aadhaar(valid=i % 2 == 1)
    if i % 2:
        add('IN_AADHAAR', 'Tracking {} shipped'.format(v))  # bare and valid, but no context
    else:
        add('IN_AADHAAR', 'Aadhaar {}'.format('%s %s %s' % (v[:4], v[4:8], v[8:])))

# ---- CRYPTO ----
B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
def b58enc(b):
    n = int.from_bytes(b, 'big')
    s = ''
    while n:
        n, r = divmod(n, 58)
        s = B58[r] + s
    for x in b:
        if x:
            break
        s = '1' + s
    return s

def btc(valid=True, ver=0):
    payload = bytes([ver]) + bytes(R.randrange(256) for _ in range(20))
    chk = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    if not valid:
        chk = bytes([(chk[0] + 1) % 256]) + chk[1:]
    return b58enc(payload + chk)

CH = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
def polymod(vals):
    g = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    c = 1
    for v in vals:
        b = c >> 25
        c = (c & 0x1ffffff) << 5 ^ v
        for i in range(5):
            c ^= g[i] if (b >> i) & 1 else 0
    return c

def bech32(valid=True):
    hrp = 'bc'
    data = [0] + [R.randrange(32) for _ in range(32)]
    vals = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp] + data
    pm = polymod(vals + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    if not valid:
        chk[-1] ^= 1
    return hrp + '1' + ''.join(CH[d] for d in data + chk)

def keccak256(data):
    RC = [0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
          0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
          0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
          0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
          0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
          0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008]
    ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
    M = (1 << 64) - 1
    rol = lambda x, n: ((x << n) | (x >> (64 - n))) & M if n else x
    rate = 136
    p = bytearray(data) + b'\x01' + b'\x00' * ((-len(data) - 1) % rate)
    p[-1] |= 0x80
    A = [[0] * 5 for _ in range(5)]
    for off in range(0, len(p), rate):
        for i in range(rate // 8):
            A[i % 5][i // 5] ^= int.from_bytes(p[off + 8 * i: off + 8 * i + 8], 'little')
        for rnd in range(24):
            C = [A[x][0] ^ A[x][1] ^ A[x][2] ^ A[x][3] ^ A[x][4] for x in range(5)]
            D = [C[(x - 1) % 5] ^ rol(C[(x + 1) % 5], 1) for x in range(5)]
            A = [[A[x][y] ^ D[x] for y in range(5)] for x in range(5)]
            B = [[0] * 5 for _ in range(5)]
            for x in range(5):
                for y in range(5):
                    B[y][(2 * x + 3 * y) % 5] = rol(A[x][y], ROT[x][y])
            A = [[B[x][y] ^ (~B[(x + 1) % 5][y] & B[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
            A[0][0] ^= RC[rnd]
    out = b''
    for i in range(4):
        out += A[i % 5][i // 5].to_bytes(8, 'little')
    return out

def eth(valid=True):
    a = ''.join(R.choice('0123456789abcdef') for _ in range(40))
    h = keccak256(a.encode()).hex()
    s = ''.join(c.upper() if c in 'abcdef' and int(h[i], 16) >= 8 else c for i, c in enumerate(a))
    if not valid:
        for i, c in enumerate(s):
            if c.isalpha():
                s = s[:i] + (c.lower() if c.isupper() else c.upper()) + s[i + 1:]
                break
    return '0x' + s

# keccak self-check: the empty-string digest Ethereum tools print
assert keccak256(b'').hex() == 'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470'

for i in range(24):
    v = [btc(ver=0), btc(ver=5), bech32(), eth()][i % 4]
    add('CRYPTO', R.choice(['send it to {}', 'wallet: {}', 'My BTC address {}']).format('[[CRYPTO|%s]]' % v))
for i in range(24):
    v = [btc(False), bech32(False), eth(False), '0x' + '0' * 40][i % 4]
    add('CRYPTO', 'send it to {}'.format(v))

# ---- secrets ----
def rs(alpha, n):
    return ''.join(R.choice(alpha) for _ in range(n))

AN = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
UP = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
for i in range(22):
    add('AWS_ACCESS_KEY', R.choice(['aws_access_key_id = {}', 'key id {} rotated', '"AccessKeyId": "{}"']).format(
        '[[AWS_ACCESS_KEY|%s]]' % (R.choice(['AKIA', 'ASIA']) + rs(UP, 16))))
for i in range(22):
    v = ['AKIA' + rs(UP, 12), 'AKIB' + rs(UP, 16), 'akia' + rs(UP, 16).lower()][i % 3]
    add('AWS_ACCESS_KEY', 'key id {} rotated'.format(v))
B64 = AN + '/+'
for i in range(22):
    v = rs(B64, 40)
    add('AWS_SECRET_KEY', R.choice(['aws_secret_access_key = {}', 'AWS_SECRET_ACCESS_KEY="{}"', 'aws_secret: {}']).format(
        '[[AWS_SECRET_KEY|%s]]' % v))
for i in range(22):
    v = [rs(B64, 39), 'a' * 40, rs(B64, 40)][i % 3]
    tmpl = 'aws_secret_access_key = {}' if i % 3 != 2 else 'The checksum {} matched.'
    if i % 3 == 0:  # one short of an AWS secret: still a high-entropy secret value
        v = '[[GENERIC_API_KEY|%s]]' % v
    add('AWS_SECRET_KEY', tmpl.format(v))
for i in range(22):
    v = R.choice(['ghp_', 'gho_', 'ghs_']) + rs(AN, 36) if i % 2 else 'github_pat_' + rs(AN + '_', 82)
    add('GITHUB_TOKEN', R.choice(['token {}', 'GITHUB_TOKEN={}', 'use {} to push']).format('[[GITHUB_TOKEN|%s]]' % v))
for i in range(22):
    v = ['ghp_' + rs(AN, 20), 'ghx_' + rs(AN, 36), 'github_pat_' + rs(AN, 10)][i % 3]
    add('GITHUB_TOKEN', 'use {} to push'.format(v))
for i in range(22):
    v = 'xox%s-%s-%s-%s' % (R.choice('bpa'), rs('0123456789', 11), rs('0123456789', 12), rs(AN, 24))
    add('SLACK_TOKEN', R.choice(['SLACK_BOT_TOKEN={}', 'token {} leaked', 'slack: {}']).format('[[SLACK_TOKEN|%s]]' % v))
for i in range(22):
    v = ['xoxz-%s-%s' % (rs('0123456789', 11), rs(AN, 24)), 'xoxb-', 'xoxb-123'][i % 3]
    add('SLACK_TOKEN', 'token {} leaked'.format(v))
for i in range(22):
    v = 'AIza' + rs(AN + '_-', 35)
    add('GOOGLE_API_KEY', R.choice(['key={}', 'GOOGLE_API_KEY: {}', 'maps key {} works']).format('[[GOOGLE_API_KEY|%s]]' % v))
for i in range(22):
    v = ['AIza' + rs(AN, 20), 'AIzb' + rs(AN, 35), 'AIza' + rs(AN, 40)][i % 3]
    add('GOOGLE_API_KEY', 'maps key {} works'.format(v))
for i in range(22):
    v = R.choice(['sk_live_', 'sk_test_', 'rk_live_']) + rs(AN, 24)
    add('STRIPE_KEY', R.choice(['STRIPE_SECRET={}', 'stripe key {} in env', 'Bearer {}']).format('[[STRIPE_KEY|%s]]' % v))
for i in range(22):
    v = ['pk_live_' + rs(AN, 24), 'sk_live_' + rs(AN, 8), 'sk_prod_' + rs(AN, 24)][i % 3]
    add('STRIPE_KEY', 'stripe key {} in env'.format(v))
import base64, json as _json
def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()
for i in range(22):
    hdr = b64u(_json.dumps({'alg': R.choice(['HS256', 'RS256']), 'typ': 'JWT'}).encode())
    pl = b64u(_json.dumps({'sub': str(R.randint(1, 10**9)), 'iat': R.randint(10**9, 2 * 10**9)}).encode())
    v = '%s.%s.%s' % (hdr, pl, b64u(bytes(R.randrange(256) for _ in range(32))))
    add('JWT', R.choice(['Authorization: Bearer {}', 'jwt={}', 'session {} expired']).format('[[JWT|%s]]' % v))
for i in range(22):
    k = i % 3
    if k == 0:
        v = 'eyJ' + rs(AN, 30)  # one segment
    elif k == 1:
        v = b64u(b'{"foo":"bar","x":1}') + '.' + rs(AN, 20) + '.' + rs(AN, 20)  # header without alg/typ
    else:
        v = 'eyJub3Rqc29u.' + rs(AN, 10)  # two segments
    add('JWT', 'session {} expired'.format(v))
for i in range(22):
    body = '\\n'.join(rs(AN + '+/', 64) for _ in range(R.randint(3, 8)))
    kind = R.choice(['RSA ', 'EC ', '', 'OPENSSH '])
    v = '-----BEGIN %sPRIVATE KEY-----\\n%s\\n-----END %sPRIVATE KEY-----' % (kind, body, kind)
    add('PRIVATE_KEY', 'key file:\\n[[PRIVATE_KEY|%s]]\\nend' % v)
for i in range(22):
    body = '\\n'.join(rs(AN + '+/', 64) for _ in range(3))
    v = ['-----BEGIN PUBLIC KEY-----\\n%s\\n-----END PUBLIC KEY-----' % body,
         '-----BEGIN CERTIFICATE-----\\n%s\\n-----END CERTIFICATE-----' % body][i % 2]
    add('PRIVATE_KEY', 'key file:\\n%s\\nend' % v)
HX = '0123456789abcdef'
for i in range(22):
    v = rs(AN, R.randint(20, 40))
    if not any(c.isdigit() for c in v):
        v = v[:-1] + '7'
    if not any(c.isalpha() for c in v):
        v = 'k' + v[1:]
    add('GENERIC_API_KEY', R.choice(['api_key = "{}"', 'client_secret: {}', 'password={}', 'AUTH_TOKEN = \'{}\'']).format(
        '[[GENERIC_API_KEY|%s]]' % v))
for i in range(22):
    v = ['your_api_key_here', 'changeme', 'xxxxxxxxxxxxxxxxxxxx', 'password', 'ThisIsMyPasswordValue',
         '${API_KEY}', '1234567890123456'][i % 7]
    add('GENERIC_API_KEY', R.choice(['api_key = "{}"', 'password: {}', 'token={}']).format(v))

# ---- PERSON / STREET_ADDRESS ----
FIRST = ['Alice', 'Bruno', 'Chen', 'Dmitri', 'Élodie', 'Fatima', 'Giulia', 'Hiro', 'Ingrid', 'José']
LAST = ['Johnson', 'Silva', 'Wang', 'Petrov', 'Dubois', 'Khan', 'Rossi', 'Tanaka', 'Larsen', 'García']
for i in range(22):
    n = '%s %s' % (R.choice(FIRST), R.choice(LAST))
    tmpl = R.choice(['My name is {}.', 'Dear {},\\nthank you.', 'Regards,\\n{}', 'Mr. {} called.',
                     'Dr. {} will see you now'])
    if tmpl.startswith('Mr.') or tmpl.startswith('Dr.'):
        n = R.choice(LAST) if i % 2 else n
    add('PERSON', tmpl.format('[[PERSON|%s]]' % n))
for i in range(22):
    n = '%s %s' % (R.choice(FIRST), R.choice(LAST))
    tmpl = R.choice(['{} opened the store.', 'Is {} coming?', 'my name is not important',
                     'Dear customer, thank you.', 'The Washington Monument is tall.'])
    add('PERSON', tmpl.format(n))
STREETS = ['Main', 'Oak', 'Maple', 'Pennsylvania', 'Sunset', 'Elm', '5th', 'Lake Shore']
SUF = ['Street', 'St', 'Avenue', 'Ave.', 'Road', 'Blvd', 'Lane', 'Drive']
for i in range(22):
    v = '%d %s %s' % (R.randint(1, 9999), R.choice(STREETS), R.choice(SUF))
    if i % 3 == 0:
        v += ', Apt %d' % R.randint(1, 99)
    add('STREET_ADDRESS', R.choice(['I live at {}.', 'Ship to {}, Springfield', 'Address: {}',
                                    'She lives at {} now']).format('[[STREET_ADDRESS|%s]]' % v))
for i in range(22):
    v = '%d %s %s' % (R.randint(1, 9999), R.choice(STREETS), R.choice(SUF))
    tmpl = R.choice(['We sold {} copies.', 'Chapter {} begins', 'There were {} of them.'])
    if i % 2:
        add('STREET_ADDRESS', 'Turn left after {} and continue.'.format(v))  # no address word
    else:
        add('STREET_ADDRESS', tmpl.format('%d %s people' % (R.randint(1, 9999), R.choice(STREETS))))

# ---- regressions (fixed cases, no random draws, so the cases above stay the same) ----
# A US SSN layout is never a phone number, even next to a phone word; 123-45-6789 is the
# SSA's advertising example (never issued) and no SSN either, as in Presidio.
for tmpl in ['SSN {}', 'Call me, my SSN is {}.', 'phone: {}', 'SSN: {} (call the office)',
             'Contact desk, social security number {}']:
    add('PHONE_NUMBER', tmpl.format('123-45-6789'))
    add('PHONE_NUMBER', tmpl.format('123 45 6789'))
add('PHONE_NUMBER', 'Call me, my SSN is [[US_SSN|536-22-8726]].')
add('PHONE_NUMBER', 'phone: [[US_SSN|536-22-8726]] per the SSN card')
# Consecutive card numbers: every one is found, none twice.
V, M, A, D = '4111111111111111', '5500000000000004', '378282246310005', '6011000990139424'
add('CREDIT_CARD', 'cards [[CREDIT_CARD|%s]] [[CREDIT_CARD|%s]]' % (V, M))
add('CREDIT_CARD', 'cards [[CREDIT_CARD|%s]],[[CREDIT_CARD|%s]],[[CREDIT_CARD|%s]]' % (V, M, D))
add('CREDIT_CARD', 'cards [[CREDIT_CARD|%s]], [[CREDIT_CARD|%s]]; [[CREDIT_CARD|%s]]' % (V, A, D))
add('CREDIT_CARD', '[[CREDIT_CARD|4111 1111 1111 1111]] [[CREDIT_CARD|5500 0000 0000 0004]]')
add('CREDIT_CARD', 'card [[CREDIT_CARD|4111-1111-1111-1111]] [[CREDIT_CARD|5500-0000-0000-0004]] '
    '[[CREDIT_CARD|6011-0009-9013-9424]]')
add('CREDIT_CARD', 'amex [[CREDIT_CARD|3782 822463 10005]] [[CREDIT_CARD|4111 1111 1111 1111]]')
add('CREDIT_CARD', '[[CREDIT_CARD|%s]] [[CREDIT_CARD|5500 0000 0000 0004]]' % V)
add('CREDIT_CARD', 'numbers 1234 5678 9012 3456 7890 1234 5678 9012')
# Words that lower a number's likelihood ("order", "ssn") count on the number's own line
# only: the previous line's identifier does not hide this line's card.
add('CREDIT_CARD', 'SSN [[US_SSN|536-22-8726]]\\n[[CREDIT_CARD|%s]] expires soon' % V)
add('CREDIT_CARD', 'order #12\\n[[CREDIT_CARD|%s]]' % M)
add('CREDIT_CARD', 'order number 4111111111111111 shipped')

print('# generated by gen_pii_corpus.py (seed 20261123); edit the generator, not this file')
for t, text in cases:
    assert '\n' not in text and '\t' not in text, text
    print('%s\t%s' % (t, text))
