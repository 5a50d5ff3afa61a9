/*
 * safety/pii_valid.c - validators of the PII detectors: checksums and structure checks
 * that turn away look-alikes (a 16-digit number failing Luhn is not a card).
 *
 * Each takes the matched span (n bytes, not NUL-terminated, any bytes) and returns 1 when
 * it is valid, 0 when not. None allocates on the heap; spans are bounded by the patterns
 * (and checked here again), so fixed stack buffers suffice.
 * Sources: Luhn (ISO/IEC 7812-1), IBAN (ISO 13616, the SWIFT registry lengths), NHS number
 * (NHS Data Dictionary, modulus 11), GB 11643-1999 (ISO 7064 MOD 11-2), Verhoeff (1969),
 * Bitcoin base58check and BIP 173 / BIP 350 (bech32 / bech32m), EIP-55, FIPS 202 Keccak.
 */
#include "safety/pii_int.h"

#include <arpa/inet.h>
#include <math.h>
#include <openssl/sha.h>
#include <string.h>

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* The digits of s (separators dropped) into d; returns their count, or -1 past max. */
static int digits_of(const char *s, size_t n, int *d, int max)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_digit((unsigned char)s[i])) {
            if (k == max)
                return -1;
            d[k++] = s[i] - '0';
        }
    }
    return k;
}

static int all_same(const int *d, int n)
{
    for (int i = 1; i < n; i++)
        if (d[i] != d[0])
            return 0;
    return 1;
}

static int prefix_num(const int *d, int n_digits)
{
    int v = 0;
    for (int i = 0; i < n_digits; i++)
        v = v * 10 + d[i];
    return v;
}

/* Separators must all be the same byte (4111-1111-1111-1111, not 4111 1111-1111.1111). */
static int one_separator(const char *s, size_t n)
{
    char sep = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (is_digit((unsigned char)c))
            continue;
        if (sep && c != sep)
            return 0;
        sep = c;
    }
    return 1;
}

int pii_valid_luhn_card(const char *s, size_t n)
{
    int d[24];
    int k = digits_of(s, n, d, 24);
    if (k < 12 || k > 19 || all_same(d, k) || !one_separator(s, n))
        return 0;
    int sum = 0;
    for (int i = 0; i < k; i++) {
        int x = d[k - 1 - i];
        if (i & 1) {
            x *= 2;
            if (x > 9)
                x -= 9;
        }
        sum += x;
    }
    if (sum % 10 != 0)
        return 0;
    /* Issuer identification numbers (first digits) and the lengths they issue. */
    int p1 = d[0], p2 = prefix_num(d, 2), p3 = prefix_num(d, 3), p4 = prefix_num(d, 4);
    if (p1 == 4)
        return k == 13 || k == 16 || k == 19; /* Visa */
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
        return k == 16; /* Mastercard */
    if (p2 == 34 || p2 == 37)
        return k == 15; /* American Express */
    if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649))
        return k >= 16; /* Discover */
    if (p2 == 35)
        return k >= 16; /* JCB (3528-3589 issued, 35xx reserved for it) */
    if (p4 == 2131 || p4 == 1800)
        return k == 15; /* JCB's older 15-digit numbers */
    if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39)
        return k >= 14; /* Diners Club */
    if (p2 == 62)
        return k >= 16; /* UnionPay */
    if (p4 >= 2200 && p4 <= 2204)
        return k >= 16; /* Mir */
    if (p2 == 50 || (p2 >= 56 && p2 <= 69) || p4 == 604)
        return k >= 12; /* Maestro (and its 0604 range) */
    return 0;
}

/* AAA-GG-SSSS with one separator style; fills area, group, serial. */
static int ssn_parts(const char *s, size_t n, int *area, int *group, int *serial)
{
    int d[9];
    if (digits_of(s, n, d, 9) != 9 || !one_separator(s, n))
        return 0;
    if (all_same(d, 9))
        return 0;
    *area = prefix_num(d, 3);
    *group = d[3] * 10 + d[4];
    *serial = prefix_num(d + 5, 4);
    return 1;
}

int pii_valid_ssn(const char *s, size_t n)
{
    int a, g, sr;
    if (!ssn_parts(s, n, &a, &g, &sr))
        return 0;
    /* SSA: area 000, 666 and 900-999 are never issued, nor group 00 or serial 0000. */
    if (a == 0 || a == 666 || a >= 900 || g == 0 || sr == 0)
        return 0;
    /* Numbers published in advertising and examples (SSA), not anyone's. */
    if ((a == 78 && g == 5 && sr == 1120) || (a == 219 && g == 9 && sr == 9999) ||
        (a == 123 && g == 45 && sr == 6789))
        return 0;
    return 1;
}

int pii_valid_itin(const char *s, size_t n)
{
    int a, g, sr;
    if (!ssn_parts(s, n, &a, &g, &sr))
        return 0;
    /* IRS: 9XX-[50-65, 70-88, 90-92, 94-99]-XXXX. */
    if (a < 900 || sr == 0)
        return 0;
    return (g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) ||
           (g >= 94 && g <= 99);
}

/* IBAN lengths per country (SWIFT IBAN registry). */
static const struct {
    char cc[3];
    int len;
} iban_len[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
    {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
    {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20},
    {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
    {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31},
    {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
    {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

static int upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 32 : c;
}

int pii_valid_iban(const char *s, size_t n)
{
    char v[40];
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = upper((unsigned char)s[i]);
        if (c == ' ')
            continue;
        if (!is_digit(c) && !(c >= 'A' && c <= 'Z'))
            return 0;
        if (k == 34)
            return 0;
        v[k++] = (char)c;
    }
    if (k < 15)
        return 0;
    int want = 0;
    for (size_t i = 0; i < sizeof(iban_len) / sizeof(iban_len[0]); i++)
        if (iban_len[i].cc[0] == v[0] && iban_len[i].cc[1] == v[1])
            want = iban_len[i].len;
    if (want != k)
        return 0;
    /* ISO 7064 mod 97-10 over the rearranged string, letters as 10..35. */
    unsigned rem = 0;
    for (int j = 0; j < k; j++) {
        int c = v[(j + 4) % k];
        if (is_digit(c))
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        else
            rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
    }
    return rem == 1;
}

int pii_valid_ipv4(const char *s, size_t n)
{
    char z[20];
    if (n < 7 || n >= sizeof(z))
        return 0;
    memcpy(z, s, n);
    z[n] = 0;
    struct in_addr a;
    if (inet_pton(AF_INET, z, &a) != 1)
        return 0;
    /* 0.0.0.0 and 255.255.255.255 name no host. */
    return a.s_addr != 0 && a.s_addr != 0xffffffffu;
}

int pii_valid_ipv6(const char *s, size_t n)
{
    char z[48];
    if (n < 3 || n >= sizeof(z))
        return 0;
    memcpy(z, s, n);
    z[n] = 0;
    struct in6_addr a;
    if (inet_pton(AF_INET6, z, &a) != 1)
        return 0;
    /* At least three groups: "a::b" and "std::" shapes in code are not addresses. */
    int groups = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != ':' && (i == 0 || s[i - 1] == ':'))
            groups++;
    return groups >= 3;
}

int pii_valid_nhs(const char *s, size_t n)
{
    int d[10];
    if (digits_of(s, n, d, 10) != 10 || all_same(d, 10) || !one_separator(s, n))
        return 0;
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += d[i] * (10 - i);
    int c = 11 - sum % 11;
    if (c == 11)
        c = 0;
    return c != 10 && c == d[9];
}

static int plausible_ymd(int y, int m, int d, int y_min, int y_max)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return y >= y_min && y <= y_max && m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1];
}

int pii_valid_cn_id(const char *s, size_t n)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    if (n != 18)
        return 0;
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        if (!is_digit((unsigned char)s[i]))
            return 0;
        sum += (s[i] - '0') * w[i];
    }
    if (upper((unsigned char)s[17]) != check[sum % 11])
        return 0;
    /* Region code 11-82, then the birth date YYYYMMDD. */
    if (s[0] < '1' || s[0] > '8')
        return 0;
    int y = 0, mo, dd;
    for (int i = 6; i < 10; i++)
        y = y * 10 + (s[i] - '0');
    mo = (s[10] - '0') * 10 + (s[11] - '0');
    dd = (s[12] - '0') * 10 + (s[13] - '0');
    return plausible_ymd(y, mo, dd, 1900, 2030);
}

int pii_valid_aadhaar(const char *s, size_t n)
{
    static const uint8_t dt[10][10] = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
        {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
        {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
        {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
        {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
    };
    static const uint8_t pt[8][10] = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
        {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
        {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
        {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
    };
    int d[12];
    if (digits_of(s, n, d, 12) != 12 || !one_separator(s, n) || d[0] < 2 || all_same(d, 12))
        return 0;
    int c = 0;
    for (int i = 0; i < 12; i++)
        c = dt[c][pt[i % 8][d[11 - i]]];
    return c == 0;
}

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int pii_valid_btc_base58(const char *s, size_t n)
{
    if (n < 26 || n > 35)
        return 0;
    uint8_t out[25];
    memset(out, 0, sizeof(out));
    for (size_t i = 0; i < n; i++) {
        const char *p = memchr(b58_alphabet, s[i], 58);
        if (!p || s[i] == 0)
            return 0;
        unsigned carry = (unsigned)(p - b58_alphabet);
        for (int j = 24; j >= 0; j--) {
            carry += 58u * out[j];
            out[j] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
        if (carry)
            return 0; /* longer than 25 bytes */
    }
    if (out[0] != 0x00 && out[0] != 0x05)
        return 0; /* P2PKH or P2SH on the main chain */
    uint8_t h1[32], h2[32];
    SHA256(out, 21, h1);
    SHA256(h1, 32, h2);
    return memcmp(h2, out + 21, 4) == 0;
}

static uint32_t bech32_polymod_step(uint32_t pre)
{
    uint8_t b = (uint8_t)(pre >> 25);
    return ((pre & 0x1FFFFFF) << 5) ^ (-((b >> 0) & 1) & 0x3b6a57b2UL) ^
           (-((b >> 1) & 1) & 0x26508e6dUL) ^ (-((b >> 2) & 1) & 0x1ea119faUL) ^
           (-((b >> 3) & 1) & 0x3d4233ddUL) ^ (-((b >> 4) & 1) & 0x2a1462b3UL);
}

int pii_valid_btc_bech32(const char *s, size_t n)
{
    static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    if (n < 14 || n > 90)
        return 0;
    int lower = 0, up = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 'a' && s[i] <= 'z')
            lower = 1;
        if (s[i] >= 'A' && s[i] <= 'Z')
            up = 1;
    }
    if (lower && up)
        return 0;
    if (!(upper((unsigned char)s[0]) == 'B' && upper((unsigned char)s[1]) == 'C' && s[2] == '1'))
        return 0;
    uint32_t chk = 1;
    /* hrp "bc": high bits, a zero, then low bits */
    chk = bech32_polymod_step(chk) ^ ('b' >> 5);
    chk = bech32_polymod_step(chk) ^ ('c' >> 5);
    chk = bech32_polymod_step(chk);
    chk = bech32_polymod_step(chk) ^ ('b' & 31);
    chk = bech32_polymod_step(chk) ^ ('c' & 31);
    for (size_t i = 3; i < n; i++) {
        int c = s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i];
        const char *p = c ? memchr(charset, c, 32) : NULL;
        if (!p)
            return 0;
        chk = bech32_polymod_step(chk) ^ (uint32_t)(p - charset);
    }
    return chk == 1 || chk == 0x2bc830a3; /* bech32 (BIP 173) or bech32m (BIP 350) */
}

/* ---- Keccak-256 (FIPS 202 permutation, original 0x01 padding as Ethereum uses) ------ */

static uint64_t rol64(uint64_t x, int s)
{
    return s ? (x << s) | (x >> (64 - s)) : x;
}

static void keccak_f(uint64_t a[25])
{
    static const uint64_t rc[24] = {
        0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
        0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
        0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
        0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
        0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
        0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
    };
    static const int rho[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                                25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};
    for (int round = 0; round < 24; round++) {
        uint64_t c[5], b[25];
        for (int x = 0; x < 5; x++)
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; x++) {
            uint64_t d = c[(x + 4) % 5] ^ rol64(c[(x + 1) % 5], 1);
            for (int y = 0; y < 25; y += 5)
                a[y + x] ^= d;
        }
        /* rho and pi: lane (x, y) moves to (y, 2x + 3y) */
        for (int x = 0; x < 5; x++)
            for (int y = 0; y < 5; y++)
                b[y + 5 * ((2 * x + 3 * y) % 5)] = rol64(a[x + 5 * y], rho[x + 5 * y]);
        for (int y = 0; y < 25; y += 5)
            for (int x = 0; x < 5; x++)
                a[y + x] = b[y + x] ^ (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);
        a[0] ^= rc[round];
    }
}

void pii_keccak256(const uint8_t *in, size_t n, uint8_t out[32])
{
    enum { RATE = 136 };
    uint64_t a[25];
    memset(a, 0, sizeof(a));
    uint8_t block[RATE];
    for (;;) {
        size_t take = n < RATE ? n : RATE;
        memset(block, 0, sizeof(block));
        memcpy(block, in, take);
        int last = take < RATE;
        if (last) {
            block[take] ^= 0x01;
            block[RATE - 1] ^= 0x80;
        }
        for (int i = 0; i < RATE / 8; i++) {
            uint64_t v = 0;
            for (int j = 7; j >= 0; j--)
                v = (v << 8) | block[8 * i + j];
            a[i] ^= v;
        }
        keccak_f(a);
        in += take;
        n -= take;
        if (last)
            break;
    }
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(a[i / 8] >> (8 * (i % 8)));
}

int pii_valid_eth(const char *s, size_t n)
{
    if (n != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return 0;
    int lower = 0, up = 0;
    char low[40];
    for (int i = 0; i < 40; i++) {
        int c = (unsigned char)s[2 + i];
        if (c >= 'a' && c <= 'f')
            lower = 1;
        else if (c >= 'A' && c <= 'F')
            up = 1, c += 32;
        else if (!is_digit(c))
            return 0;
        low[i] = (char)c;
    }
    /* The zero address and runs of one digit are placeholders. */
    int same = 1;
    for (int i = 1; i < 40; i++)
        same &= low[i] == low[0];
    if (same)
        return 0;
    if (!(lower && up))
        return 1; /* one case: no checksum to check, the shape is all there is */
    uint8_t h[32];
    pii_keccak256((const uint8_t *)low, 40, h);
    for (int i = 0; i < 40; i++) {
        int c = (unsigned char)s[2 + i];
        if (is_digit(c))
            continue;
        int nib = (h[i / 2] >> (i % 2 ? 0 : 4)) & 0xf;
        int is_up = c >= 'A' && c <= 'F';
        if (is_up != (nib >= 8))
            return 0;
    }
    return 1;
}

double pii_entropy(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned cnt[256];
    memset(cnt, 0, sizeof(cnt));
    for (size_t i = 0; i < n; i++)
        cnt[(unsigned char)s[i]]++;
    double h = 0;
    for (int i = 0; i < 256; i++)
        if (cnt[i]) {
            double p = (double)cnt[i] / (double)n;
            h -= p * log2(p);
        }
    return h;
}

static int has_nocase(const char *s, size_t n, const char *w)
{
    size_t m = strlen(w);
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && (s[i + j] | 0x20) == w[j])
            j++;
        if (j == m)
            return 1;
    }
    return 0;
}

/* Generic secrets: high entropy, letters and digits both, and not a placeholder. */
int pii_valid_entropy(const char *s, size_t n)
{
    if (n < 16)
        return 0;
    int digit = 0, alpha = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        digit |= is_digit(c);
        alpha |= (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    }
    if (!digit || !alpha)
        return 0;
    static const char *const placeholders[] = {"xxxx",   "your",  "example",  "placeholder",
                                               "change", "dummy", "redacted", "0000",
                                               "1234",   "abcd",  "test",     "sample"};
    for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++)
        if (has_nocase(s, n, placeholders[i]))
            return 0;
    double need = n >= 32 ? 3.8 : 3.3;
    return pii_entropy(s, n) >= need;
}

static const char *const month_names[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};

/* Dates: Y-M-D, M/D/Y or D/M/Y (either reading may be the plausible one), D.M.Y,
 * "March 3, 1985", "3 March 1985". Years 1900-2030. */
int pii_valid_date(const char *s, size_t n)
{
    int num[3] = {0, 0, 0}, len[3] = {0, 0, 0}, k = 0, month = 0;
    for (size_t i = 0; i < n && k <= 3;) {
        if (is_digit((unsigned char)s[i])) {
            if (k == 3)
                return 0;
            while (i < n && is_digit((unsigned char)s[i]) && len[k] < 5) {
                num[k] = num[k] * 10 + (s[i] - '0');
                len[k]++;
                i++;
            }
            k++;
        } else if ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') {
            size_t j = i;
            while (j < n && (s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z')
                j++;
            if (j - i >= 3 && !month) {
                for (int m = 0; m < 12; m++)
                    if (has_nocase(s + i, 3, month_names[m]))
                        month = m + 1;
            }
            i = j;
        } else {
            i++;
        }
    }
    if (month) {
        if (k != 2)
            return 0;
        int d = len[0] <= 2 ? num[0] : num[1], y = len[0] <= 2 ? num[1] : num[0];
        return plausible_ymd(y, month, d, 1900, 2030);
    }
    if (k != 3)
        return 0;
    if (len[0] == 4)
        return plausible_ymd(num[0], num[1], num[2], 1900, 2030);
    if (len[2] != 4)
        return 0;
    return plausible_ymd(num[2], num[0], num[1], 1900, 2030) ||
           plausible_ymd(num[2], num[1], num[0], 1900, 2030);
}

/* ddd-dd-dddd or ddd dd dddd: the US SSN layout. */
static int ssn_layout(const char *s, size_t n)
{
    if (n != 11 || (s[3] != '-' && s[3] != ' ') || s[6] != s[3])
        return 0;
    for (size_t i = 0; i < n; i++)
        if (i != 3 && i != 6 && !is_digit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A US SSN layout is never a phone number: no numbering plan here writes 3-2-4, and an
 * SSN next to a phone word ("call me, my SSN is ...") is the SSN detector's business. */
int pii_valid_phone(const char *s, size_t n)
{
    if (ssn_layout(s, n))
        return 0;
    int d[20];
    int k = digits_of(s, n, d, 20);
    return k >= 7 && k <= 15 && !all_same(d, k);
}

/* North American numbering plan: area and exchange codes start with 2-9. */
int pii_valid_nanp(const char *s, size_t n)
{
    int d[12];
    int k = digits_of(s, n, d, 12);
    if (k == 11 && d[0] == 1)
        return pii_valid_nanp(s + 1, n - 1) || (d[1] >= 2 && d[4] >= 2 && !all_same(d + 1, 10));
    if (k != 10)
        return 0;
    return d[0] >= 2 && d[3] >= 2 && !all_same(d, 10);
}

/* JWT: three base64url segments; the header decodes to a JSON object naming "alg". */
int pii_valid_jwt(const char *s, size_t n)
{
    const char *dot = memchr(s, '.', n);
    if (!dot)
        return 0;
    size_t hl = (size_t)(dot - s);
    if (hl < 10 || hl > 1024)
        return 0;
    char hdr[800];
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < hl; i++) {
        int c = (unsigned char)s[i], v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (is_digit(c))
            v = c - '0' + 52;
        else if (c == '-' || c == '+')
            v = 62;
        else if (c == '_' || c == '/')
            v = 63;
        else
            return 0;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < sizeof(hdr))
                hdr[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    return o > 0 && hdr[0] == '{' &&
           (has_nocase(hdr, o, "\"alg\"") || has_nocase(hdr, o, "\"typ\""));
}

/* ---- gates: cheap necessary conditions checked before a PCRE2 match ------------------ */

int pii_gate_street(const char *t, size_t s, size_t len)
{
    size_t i = s;
    while (i < len && i - s < 7 && is_digit((unsigned char)t[i]))
        i++;
    if (i < len && ((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z'))
        i++;
    if (i >= len || (t[i] != ' ' && t[i] != '\t' && t[i] != '\n'))
        return 0;
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n'))
        i++;
    /* an upper-case letter, a non-ASCII letter, or an ordinal ("5th Avenue") */
    return i < len && ((t[i] >= 'A' && t[i] <= 'Z') || (unsigned char)t[i] >= 0xc0 ||
                       is_digit((unsigned char)t[i]));
}

int pii_gate_btc(const char *t, size_t s, size_t len)
{
    if (t[s] != '1' && t[s] != '3')
        return 0;
    size_t i = s;
    /* base58: digits 1-9 and letters but 0, O, I and l */
    while (i < len && i - s < 36) {
        int c = (unsigned char)t[i];
        int ok = (c >= '1' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'O' && c != 'I') ||
                 (c >= 'a' && c <= 'z' && c != 'l');
        if (!ok)
            break;
        i++;
    }
    return i - s >= 26;
}

int pii_gate_eth(const char *t, size_t s, size_t len)
{
    return s + 42 <= len && t[s] == '0' && (t[s + 1] == 'x' || t[s + 1] == 'X');
}

int pii_gate_mac(const char *t, size_t s, size_t len)
{
    if (s + 17 <= len && (t[s + 2] == ':' || t[s + 2] == '-'))
        return t[s + 5] == t[s + 2] && t[s + 8] == t[s + 2] && t[s + 11] == t[s + 2] &&
               t[s + 14] == t[s + 2];
    return s + 14 <= len && t[s + 4] == '.' && t[s + 9] == '.';
}

int pii_gate_ipv4(const char *t, size_t s, size_t len)
{
    int dots = 0;
    for (size_t i = s; i < len && i - s < 16; i++) {
        if (t[i] == '.')
            dots++;
        else if (!is_digit((unsigned char)t[i]))
            break;
    }
    return dots >= 3;
}

/* A date: a separator (- / .) within the first five bytes, a digit after it, and no time
 * of day after the date ("2024-03-15T12:00", "2024-03-15 12:00:01" are timestamps). */
int pii_gate_date(const char *t, size_t s, size_t len)
{
    int sep = 0;
    for (size_t i = s + 1; i + 1 < len && i <= s + 4; i++)
        if ((t[i] == '-' || t[i] == '/' || t[i] == '.') && is_digit((unsigned char)t[i + 1]))
            sep = 1;
    if (!sep)
        return 0;
    size_t i = s;
    while (i < len && i - s < 11 &&
           (is_digit((unsigned char)t[i]) || t[i] == '-' || t[i] == '/' || t[i] == '.'))
        i++;
    if (i + 1 < len && (t[i] == 'T' || t[i] == ' ') && is_digit((unsigned char)t[i + 1])) {
        size_t j = i + 1;
        while (j < len && j - i < 4 && is_digit((unsigned char)t[j]))
            j++;
        if (j < len && t[j] == ':')
            return 0;
    }
    return 1;
}

static int is_alnum(int c)
{
    return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* IBAN: a word start, then at least 15 letters, digits or single spaces. */
int pii_gate_iban(const char *t, size_t s, size_t len)
{
    if (s > 0 && is_alnum((unsigned char)t[s - 1]))
        return 0;
    size_t n = 0;
    for (size_t i = s; i < len && n < 15; i++) {
        if (is_alnum((unsigned char)t[i]))
            n++;
        else if (!(t[i] == ' ' && i + 1 < len && is_alnum((unsigned char)t[i + 1])))
            break;
    }
    return n >= 15;
}

/* A passport number: 8 or 9 digits after an optional letter, then no more alphanumerics. */
int pii_gate_passport(const char *t, size_t s, size_t len)
{
    size_t i = s;
    if (i < len && t[i] >= 'A' && t[i] <= 'Z')
        i++;
    size_t d = i;
    while (i < len && i - d < 10 && is_digit((unsigned char)t[i]))
        i++;
    return (i - d == 8 || i - d == 9) && (i >= len || !is_alnum((unsigned char)t[i]));
}

/* An assignment: a name, then (after a quote and spaces) ':' or '='. */
int pii_gate_assign(const char *t, size_t s, size_t len)
{
    size_t i = s;
    while (i < len && i - s < 80 &&
           ((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z'
                ? 1
                : is_digit((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
        i++;
    if (i < len && (t[i] == '"' || t[i] == '\''))
        i++;
    for (int k = 0; k < 3 && i < len && (t[i] == ' ' || t[i] == '\t'); k++)
        i++;
    return i < len && (t[i] == ':' || t[i] == '=');
}

/* "://" within a scheme's length of the anchor. */
int pii_gate_url(const char *t, size_t s, size_t len)
{
    for (size_t i = s + 1; i + 2 < len && i <= s + 17; i++)
        if (t[i] == ':')
            return t[i + 1] == '/' && t[i + 2] == '/';
    return 0;
}

/* "::" or seven colons among the first 40 bytes of hex digits and colons. */
int pii_gate_ipv6(const char *t, size_t s, size_t len)
{
    int n = 0, dbl = 0;
    for (size_t i = s; i < len && i < s + 40; i++) {
        int c = (unsigned char)t[i];
        if (c == ':') {
            n++;
            dbl |= i > s && t[i - 1] == ':';
        } else if (!((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))) {
            break;
        }
    }
    return dbl || n >= 7;
}
