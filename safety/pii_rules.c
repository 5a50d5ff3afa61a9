/*
 * safety/pii_rules.c - the PII detectors as data: one row per detector (type, trigger,
 * pattern, validator, context words, likelihood), and the type table (name, severity,
 * description). Adding a detector means adding a row here and cases in
 * tests/data/safety/; the engine in pii_scan.c has no per-type code.
 *
 * Patterns are PCRE2 (compiled with UTF, UCP, MATCH_INVALID_UTF and ANCHORED), matched
 * at the anchor the trigger found. The span is the named group "v" when the pattern has
 * one (secrets: the value, not the key name), else the whole match. Character classes
 * are spelled [0-9] rather than \d so that UCP does not let other scripts' digits in.
 *
 * Likelihoods follow Cloud DLP's scale. Without context a validated number shape is
 * LIKELY; shapes that many ordinary numbers share (a bare 9-digit number, a 10-digit
 * number passing mod 11) need a context word and get no finding without one.
 */
#include "safety/pii_int.h"

#include <stddef.h>

enum {
    VU = PII_LIKELIHOOD_VERY_UNLIKELY,
    UN = PII_LIKELIHOOD_UNLIKELY,
    PO = PII_LIKELIHOOD_POSSIBLE,
    LI = PII_LIKELIHOOD_LIKELY,
    VL = PII_LIKELIHOOD_VERY_LIKELY,
};

/* Left boundary shared by number shapes: not inside a word, a number, a decimal, or after
 * a group of a longer grouped number ("4111 1111 ..." has no phone in its tail). */
#define NB "(?<![0-9A-Za-z_.,+-])(?<![0-9][ -])"
/* Right boundary: not followed by more of a number. */
#define NA "(?![0-9A-Za-z_]|[.,-][0-9])"

/* A card's left boundary: NB, or right after a whole card-shaped number and a list
 * separator, so that consecutive cards ("4111... 5500...", "4111...,5500...", grouped ones
 * side by side) are all found, while the groups inside one card still start nothing.
 * A grouped card counts as whole when what precedes it is no digit group, or is one more
 * whole grouped card of the same layout: so runs of ungrouped cards of any length, and of
 * up to three grouped cards in a row, are found (a fourth grouped card in a row is not).
 * Lookbehinds are fixed-length per branch (PCRE2 10.42): at most 44 bytes, which
 * pii_scan.c's subject margin (PII_LOOKBEHIND) must cover. */
#define CARD_PREV        "(?<![0-9][ -]|[0-9])"
#define CARD_AFTER(L)    "(?<=(?:" CARD_PREV "|(?<=" CARD_PREV L "[ ,;]))" L "[ ,;])"
#define CARD_G4(c)       "[0-9]{4}" c "[0-9]{4}" c "[0-9]{4}" c "[0-9]{4}"
#define CARD_G3(c)       "[0-9]{4}" c "[0-9]{6}" c "[0-9]{5}"
#define CARD_NB                                                                                    \
    "(?:" NB "|(?<=[0-9]{13}[ ,;])(?<![0-9]{20}[ ,;])|" CARD_AFTER(CARD_G4(" ")) "|"             \
    CARD_AFTER(CARD_G4("-")) "|" CARD_AFTER(CARD_G3(" ")) "|" CARD_AFTER(CARD_G3("-")) ")"
/* A card's right boundary: NA, but a comma followed by more than a thousands group is a
 * list separator ("4111...,5500..."). */
#define CARD_NA "(?![0-9A-Za-z_]|[.-][0-9]|,[0-9]{1,3}(?![0-9]))"

#define UPPER  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER  "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"
#define HEX    DIGITS "abcdefABCDEF"
#define IDENT  UPPER LOWER DIGITS "_.-"

static const char ctx_phone[] = "phone|phones|telephone|tel|mobile|mob|cell|cellphone|call|"
                                "calls|fax|contact|whatsapp|sms|text me|reach me|dial|ring|"
                                "answering|messages|message|registered|landline|hotline|desk";
static const char ctx_card[] = "card|credit|debit|visa|mastercard|amex|american express|cc|"
                               "discover|payment|pay|cardholder|card number|jcb|maestro";
static const char ctx_ssn[] = "ssn|ssns|social security|social security number|ss#|ss #|"
                              "social sec|ssa";
static const char ctx_itin[] = "itin|itins|taxpayer|individual taxpayer|tax id|tin";
static const char ctx_dob[] = "born|birth|dob|d.o.b|d.o.b.|birthday|birthdate|date of birth|"
                              "born on|b.|geboren|née|nacido|age";
static const char ctx_passport[] = "passport|passports|passport number|passport no|passport#|"
                                   "travel document";
static const char ctx_dl[] = "driver|drivers|driver's|driving|license|licence|licenses|dl|"
                             "dl#|dmv|driver license|driver's license";
static const char ctx_nhs[] = "nhs|nhs number|nhs no|health service|national health|patient";
static const char ctx_aadhaar[] = "aadhaar|aadhar|adhaar|uidai|uid|आधार|enrolment";
static const char ctx_cn[] = "身份证|身份证号|居民身份证|resident id|resident identity|id card|"
                             "identity card|identity number|id number|citizen id";
static const char ctx_iban[] = "iban|bank|account|transfer|wire|sepa|bic|swift";
static const char ctx_ip[] = "ip|ips|ip address|address|host|server|client|from|connect|"
                             "connected|ipv4|ipv6|addr|src|dst|remote";
static const char ctx_email[] = "email|e-mail|mail|mailto|contact|address|write to|reach";
static const char ctx_crypto[] = "bitcoin|btc|wallet|ethereum|eth|address|crypto|send|ether";
static const char ctx_address[] = "address|addresses|live at|lives at|living at|located at|"
                                  "ship to|deliver to|send to|mail to|residence|reside|"
                                  "resides|billing address|shipping address|home|moved to";
static const char ctx_mac[] = "mac|mac address|hwaddr|ether|ethernet|bssid|wifi|device";

const char *const pii_anti_context = "order|invoice|tracking|isbn|version|serial|ref|"
                                     "reference|transaction|build|issue|page|ticket|"
                                     "sku|part|model|barcode|upc|ean|lot|batch|"
                                     /* another identifier's own word: not this one */
                                     "nhs|ssn|passport|aadhaar|itin|身份证|license|licence";

const struct pii_rule pii_rules[] = {
    /* ---- contact ---------------------------------------------------------------------- */
    {"email", PII_TYPE_EMAIL_ADDRESS, PII_TRIG_AT, NULL, 0, UPPER LOWER DIGITS "._%+-", 64, 254,
     "(?<![A-Za-z0-9._%+/:-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
     "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.){1,8}[A-Za-z]{2,24}"
     "(?![A-Za-z0-9-]|\\.[A-Za-z0-9])",
     NULL, ctx_email, LI, VL, 0, 0, 0, NULL},
    /* ---- payment and banking ------------------------------------------------------------ */
    {"credit_card", PII_TYPE_CREDIT_CARD, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 24,
     CARD_NB "(?:[0-9]{4}([ -]?)[0-9]{4}\\1[0-9]{4}\\1[0-9]{1,4}(?:\\1[0-9]{1,3})?|"
             "[0-9]{4}([ -]?)[0-9]{6}\\2[0-9]{4,5}|[0-9]{13,19})" CARD_NA,
     pii_valid_luhn_card, ctx_card, LI, VL, 0, 13, 0, NULL},
    {"credit_card_12", PII_TYPE_CREDIT_CARD, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 16,
     NB "(?:[0-9]{12}|[0-9]{4}([ -])[0-9]{4}\\1[0-9]{4})" NA, pii_valid_luhn_card, ctx_card, 0, LI,
     1, 12, 0, NULL},
    {"iban", PII_TYPE_IBAN_CODE, PII_TRIG_DIGIT | PII_TRIG_DIGIT_ALPHA, NULL, 0, UPPER LOWER, 2, 48,
     "(?<![0-9A-Za-z_])(?:[A-Za-z]{2}[0-9]{2}[A-Za-z0-9]{11,30}|"
     "[A-Z]{2}[0-9]{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)(?![0-9A-Za-z_])",
     pii_valid_iban, ctx_iban, LI, VL, 0, 2, 2, pii_gate_iban},

    /* ---- US identifiers ----------------------------------------------------------------- */
    {"ssn", PII_TYPE_US_SSN, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 12,
     NB "[0-9]{3}([- ])[0-9]{2}\\1[0-9]{4}" NA, pii_valid_ssn, ctx_ssn, LI, VL, 0, 9, 0, NULL},
    {"ssn_bare", PII_TYPE_US_SSN, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 10, NB "[0-9]{9}" NA,
     pii_valid_ssn, ctx_ssn, 0, LI, 1, 9, 0, NULL},
    {"itin", PII_TYPE_US_ITIN, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 12,
     NB "9[0-9]{2}([- ])[0-9]{2}\\1[0-9]{4}" NA, pii_valid_itin, ctx_itin, LI, VL, 0, 9, 0, NULL},
    {"itin_bare", PII_TYPE_US_ITIN, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 10, NB "9[0-9]{8}" NA,
     pii_valid_itin, ctx_itin, 0, LI, 1, 9, 0, NULL},
    {"us_passport", PII_TYPE_US_PASSPORT, PII_TRIG_DIGIT | PII_TRIG_DIGIT_ALPHA, NULL, 0, UPPER, 1,
     10, NB "(?:[A-Z][0-9]{8}|[0-9]{9})" NA, NULL, ctx_passport, 0, LI, 1, 8, 0, pii_gate_passport},
    {"us_driver_license", PII_TYPE_US_DRIVER_LICENSE, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 20,
     NB "(?:[0-9]{7,13}|[0-9]{3,4}-[0-9]{2,3}-[0-9]{3,4})" NA, NULL, ctx_dl, 0, LI, 1, 7, 0, NULL},
    {"us_driver_license_alpha", PII_TYPE_US_DRIVER_LICENSE, PII_TRIG_DIGIT | PII_TRIG_DIGIT_ALPHA,
     NULL, 0, UPPER, 2, 20,
     NB "(?:[A-Z]{1,2}[0-9]{4,14}|[A-Z][0-9]{3}-[0-9]{4}-[0-9]{4}|"
        "[A-Z]-?[0-9]{3}-[0-9]{3}-[0-9]{3}-[0-9]{3})" NA,
     NULL, ctx_dl, 0, LI, 1, 3, 1, NULL},

    /* ---- other national identifiers ----------------------------------------------------- */
    {"uk_nhs", PII_TYPE_UK_NHS, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 14,
     NB "[0-9]{3}([ -]?)[0-9]{3}\\1[0-9]{4}" NA, pii_valid_nhs, ctx_nhs, 0, VL, 1, 10, 0, NULL},
    {"cn_resident_id", PII_TYPE_CN_RESIDENT_ID, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 18,
     "(?<![0-9A-Za-z_])[1-8][0-9]{16}[0-9Xx](?![0-9A-Za-z_])", pii_valid_cn_id, ctx_cn, LI, VL, 0,
     17, 0, NULL},
    {"in_aadhaar", PII_TYPE_IN_AADHAAR, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 14,
     NB "[2-9][0-9]{3}([ -])[0-9]{4}\\1[0-9]{4}" NA, pii_valid_aadhaar, ctx_aadhaar, PO, VL, 0, 12,
     0, NULL},
    {"in_aadhaar_bare", PII_TYPE_IN_AADHAAR, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 12,
     NB "[2-9][0-9]{11}" NA, pii_valid_aadhaar, ctx_aadhaar, 0, LI, 1, 12, 0, NULL},

    /* ---- phones: after the identifiers, which win ties (a specific context word) ---- */
    {"phone_intl", PII_TYPE_PHONE_NUMBER, PII_TRIG_DIGIT, NULL, 0, "+", 1, 32,
     "(?<![0-9A-Za-z_+])\\+[1-9][0-9]{0,2}(?:[ .-]?\\(?[0-9]{1,5}\\)?){1,6}"
     "(?:\\s?(?:x|ext\\.?)\\s?[0-9]{1,5})?(?![0-9])",
     pii_valid_phone, ctx_phone, LI, VL, 0, 7, 1, NULL},
    {"phone_nanp", PII_TYPE_PHONE_NUMBER, PII_TRIG_DIGIT, NULL, 0, "(+", 3, 24,
     "(?<![0-9A-Za-z_+.-])(?<![0-9][ -])(?:\\+?1[ .-]?)?(?:\\([2-9][0-9]{2}\\)[ .-]?|"
     "[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}(?:\\s?(?:x|ext\\.?)\\s?[0-9]{1,5})?" NA,
     pii_valid_nanp, ctx_phone, LI, VL, 0, 10, 0, NULL},
    {"phone_uk", PII_TYPE_PHONE_NUMBER, PII_TRIG_DIGIT, NULL, 0, "(", 1, 20,
     NB
     "(?:0[1-9][0-9]{2,3} ?[0-9]{3} ?[0-9]{3,4}|07[0-9]{3} ?[0-9]{6}|07[0-9]{3} [0-9]{3} [0-9]{3}|"
     "0[1-9][0-9] [0-9]{4} [0-9]{4}|"
     "\\(0[1-9][0-9]{1,3}\\) ?[0-9]{3,4} ?[0-9]{3,4})" NA,
     pii_valid_phone, ctx_phone, PO, VL, 0, 10, 0, NULL},
    {"phone_eu", PII_TYPE_PHONE_NUMBER, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 20,
     NB "0[1-9](?:[ .][0-9]{2}){4}" NA, pii_valid_phone, ctx_phone, PO, VL, 0, 10, 0, NULL},
    {"phone_cn", PII_TYPE_PHONE_NUMBER, PII_TRIG_DIGIT, NULL, 0, "+", 1, 20,
     NB "(?:\\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}" NA, pii_valid_phone, ctx_phone, PO, VL, 0,
     11, 0, NULL},
    {"phone_in", PII_TYPE_PHONE_NUMBER, PII_TRIG_DIGIT, NULL, 0, "+", 1, 20,
     NB "(?:\\+?91[ -]?)?[6-9][0-9]{4}[ -]?[0-9]{5}" NA, pii_valid_phone, ctx_phone, PO, VL, 0, 10,
     0, NULL},
    {"phone_context", PII_TYPE_PHONE_NUMBER, PII_TRIG_DIGIT, NULL, 0, "(", 1, 24,
     NB "\\(?[0-9]{2,5}\\)?(?:[ .-]?[0-9]{2,5}){1,4}" NA, pii_valid_phone, ctx_phone, 0, LI, 1, 6,
     0, NULL},

    /* ---- dates of birth (context required) ---------------------------------------------- */
    {"date_of_birth", PII_TYPE_DATE_OF_BIRTH, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 32,
     NB "(?:[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{4})" NA,
     pii_valid_date, ctx_dob, 0, LI, 1, 5, 0, pii_gate_date},
    {"date_of_birth_month", PII_TYPE_DATE_OF_BIRTH, PII_TRIG_KEYWORD,
     "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|"
     "NOV|DEC",
     0, NULL, 0, 32,
     "(?<![A-Za-z])(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\\.?"
     "\\s{1,3}[0-9]{1,2}(?:st|nd|rd|th)?,?\\s{1,3}[0-9]{4}(?![0-9])",
     pii_valid_date, ctx_dob, 0, LI, 1, 0, 0, NULL},
    {"date_of_birth_dmy", PII_TYPE_DATE_OF_BIRTH, PII_TRIG_KEYWORD,
     "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|"
     "NOV|DEC",
     0, DIGITS " stndrh", 9, 48,
     "[a-z ]{0,8}?(?<![0-9A-Za-z])(?<v>[0-9]{1,2}(?:st|nd|rd|th)?\\s{1,3}"
     "(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\\.?,?\\s{1,3}[0-9]{4})"
     "(?![0-9])",
     pii_valid_date, ctx_dob, 0, LI, 1, 0, 0, NULL},

    /* ---- network ------------------------------------------------------------------------ */
    {"ipv4", PII_TYPE_IP_ADDRESS, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 16,
     "(?<![0-9A-Za-z_.])(?:[0-9]{1,3}\\.){3}[0-9]{1,3}(?![0-9A-Za-z_]|\\.[0-9])", pii_valid_ipv4,
     ctx_ip, LI, VL, 0, 4, 0, pii_gate_ipv4},
    {"ipv6", PII_TYPE_IP_ADDRESS, PII_TRIG_COLON, NULL, 0, HEX ":", 39, 40,
     "(?<![0-9A-Za-z_:.])[0-9A-Fa-f:]{3,39}(?![0-9A-Za-z_:]|\\.[0-9])", pii_valid_ipv6, ctx_ip, LI,
     VL, 0, 0, 0, pii_gate_ipv6},
    {"mac", PII_TYPE_MAC_ADDRESS, PII_TRIG_COLON | PII_TRIG_DASH, NULL, 0, HEX ":-.", 15, 18,
     "(?<![0-9A-Za-z_:.-])(?:[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\\1){4}[0-9A-Fa-f]{2}|"
     "[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4})(?![0-9A-Za-z_]|[:.-][0-9A-Fa-f])",
     NULL, ctx_mac, LI, VL, 0, 0, 0, pii_gate_mac},
    {"url_basic_auth", PII_TYPE_URL_BASIC_AUTH, PII_TRIG_COLON, NULL, 0, UPPER LOWER DIGITS "+.-",
     16, 512,
     "(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\\s:@/?#]{1,64}:[^\\s@/?#]{1,128}@"
     "[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?",
     NULL, NULL, VL, 0, 0, 0, 0, pii_gate_url},

    /* ---- cryptocurrency ----------------------------------------------------------------- */
    {"btc_base58", PII_TYPE_CRYPTO, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 35,
     "(?<![0-9A-Za-z_])[13][1-9A-HJ-NP-Za-km-z]{25,34}(?![0-9A-Za-z_])", pii_valid_btc_base58,
     ctx_crypto, LI, VL, 0, 1, 0, pii_gate_btc},
    {"btc_bech32", PII_TYPE_CRYPTO, PII_TRIG_KEYWORD, "bc1|BC1", 0, NULL, 0, 90,
     "(?<![0-9A-Za-z_])(?:bc1[02-9ac-hj-np-z]{11,87}|BC1[02-9AC-HJ-NP-Z]{11,87})"
     "(?![0-9A-Za-z_])",
     pii_valid_btc_bech32, ctx_crypto, LI, VL, 0, 0, 0, NULL},
    {"eth_address", PII_TYPE_CRYPTO, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 42,
     "(?<![0-9A-Za-z_])0x[0-9a-fA-F]{40}(?![0-9A-Za-z_])", pii_valid_eth, ctx_crypto, LI, VL, 0, 1,
     0, pii_gate_eth},

    /* ---- secrets ------------------------------------------------------------------------ */
    {"aws_access_key", PII_TYPE_AWS_ACCESS_KEY, PII_TRIG_KEYWORD,
     "AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA", 0, NULL, 0, 20,
     "(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z2-7]{16}"
     "(?![A-Za-z0-9])",
     NULL, NULL, VL, 0, 0, 0, 0, NULL},
    {"aws_secret_key", PII_TYPE_AWS_SECRET_KEY, PII_TRIG_KEYWORD, "aws|secret_access|secretaccess",
     1, IDENT, 32, 160,
     "(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]{0,32}?(?i:aws|secret)[A-Za-z0-9_.-]{0,40}[\"']?"
     "\\s{0,3}(?::=|=>|[:=])\\s{0,3}[\"']?(?<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
     pii_valid_entropy, NULL, LI, VL, 0, 0, 0, pii_gate_assign},
    {"github_token", PII_TYPE_GITHUB_TOKEN, PII_TRIG_KEYWORD,
     "ghp_|gho_|ghu_|ghs_|ghr_|github_pat_", 0, NULL, 0, 300,
     "(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255})"
     "(?![A-Za-z0-9_])",
     NULL, NULL, VL, 0, 0, 0, 0, NULL},
    {"slack_token", PII_TYPE_SLACK_TOKEN, PII_TRIG_KEYWORD, "xoxb-|xoxp-|xoxa-|xoxr-|xoxs-|xoxe-",
     0, NULL, 0, 260,
     "(?<![A-Za-z0-9])xox[abeprs]-[0-9A-Za-z]{4,}(?:-[0-9A-Za-z]{4,}){1,6}"
     "(?![A-Za-z0-9-])",
     NULL, NULL, VL, 0, 0, 0, 0, NULL},
    {"slack_webhook", PII_TYPE_SLACK_TOKEN, PII_TRIG_KEYWORD, "hooks.slack.com", 0, LOWER ":/", 8,
     160,
     "(?:https?://)?hooks\\.slack\\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/"
     "[A-Za-z0-9]{16,40}",
     NULL, NULL, VL, 0, 0, 0, 0, NULL},
    {"google_api_key", PII_TYPE_GOOGLE_API_KEY, PII_TRIG_KEYWORD, "AIza", 0, NULL, 0, 39,
     "(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", NULL, NULL, VL, 0, 0, 0, 0, NULL},
    {"stripe_key", PII_TYPE_STRIPE_KEY, PII_TRIG_KEYWORD, "sk_live_|sk_test_|rk_live_|rk_test_", 0,
     NULL, 0, 255, "(?<![A-Za-z0-9_])[sr]k_(?:live|test)_[0-9A-Za-z]{16,247}(?![0-9A-Za-z_])", NULL,
     NULL, VL, 0, 0, 0, 0, NULL},
    {"jwt", PII_TYPE_JWT, PII_TRIG_KEYWORD, "eyJ", 0, NULL, 0, 7000,
     "(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,2048}\\.[A-Za-z0-9_-]{4,4096}\\.[A-Za-z0-9_-]{0,800}"
     "(?![A-Za-z0-9_-])",
     pii_valid_jwt, NULL, VL, 0, 0, 0, 0, NULL},
    {"private_key_block", PII_TYPE_PRIVATE_KEY, PII_TRIG_KEYWORD, "-----BEGIN", 0, NULL, 0,
     PII_MAX_MATCH,
     "-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\\s:,.-]{16,8000}?"
     "-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----",
     NULL, NULL, VL, 0, 0, 0, 0, NULL},
    {"private_key_header", PII_TYPE_PRIVATE_KEY, PII_TRIG_KEYWORD, "-----BEGIN", 0, NULL, 0, 64,
     "-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----", NULL, NULL, LI, 0, 0, 0, 0, NULL},
    {"generic_secret", PII_TYPE_GENERIC_API_KEY, PII_TRIG_KEYWORD,
     "key|secret|token|password|passwd|pwd|auth|credential|apikey", 1, IDENT, 32, 220,
     "(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]{0,32}?"
     "(?i:key|secret|token|passw(?:or)?d|pwd|auth|credential)s?[A-Za-z0-9_.-]{0,24}[\"']?"
     "\\s{0,3}(?::=|=>|[:=])\\s{0,3}[\"']?(?<v>[A-Za-z0-9/+_.~!@#$%^&*=-]{16,128})"
     "(?![A-Za-z0-9/+_.~!@#$%^&*=-])",
     pii_valid_entropy, NULL, LI, 0, 0, 0, 0, pii_gate_assign},

    /* ---- names and addresses: context only, see `assay pii --help` ---------------------- */
    {"person_intro", PII_TYPE_PERSON, PII_TRIG_KEYWORD,
     "my name is|name is|name:|named|dear|sincerely|regards|signed|Mr|Mrs|Ms|Miss|Dr|Prof|"
     "MR|MRS|MS|DR",
     1, NULL, 0, 160,
     "(?<![A-Za-z])(?:(?i:my name is|name is|name\\s{0,2}:|named|dear|sincerely,?|"
     "regards,?|signed,?)|(?:Mr|Mrs|Ms|Miss|Dr|Prof|MR|MRS|MS|DR)\\.?)\\s{1,4}"
     "(?<v>\\p{Lu}[\\p{Ll}\\p{M}'’-]+(?:\\s\\p{Lu}\\.)?(?:[ ]\\p{Lu}[\\p{Ll}\\p{M}'’-]+){0,2})",
     NULL, NULL, LI, 0, 0, 0, 0, NULL},
    {"street_address", PII_TYPE_STREET_ADDRESS, PII_TRIG_DIGIT, NULL, 0, NULL, 0, 160,
     "(?<![0-9A-Za-z_.,-])[0-9]{1,6}[A-Za-z]?\\s{1,3}"
     "(?:(?:\\p{Lu}[\\p{L}\\p{M}'.-]*|[0-9]{1,3}(?:st|nd|rd|th))\\s{1,3}){1,4}"
     "(?:(?:Street|Avenue|Road|Boulevard|Lane|Drive|Court|Place|Terrace|Way|Highway|"
     "Parkway|Circle|Square|Trail|Crescent|Close|Row|Alley|Plaza|Loop|Path|Pike|Ridge|"
     "Heights)\\b|(?:St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Ter|Hwy|Pkwy|Cir|Sq|Trl)\\b\\.?)"
     "(?:,?\\s{1,3}(?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl|#)\\.?\\s{0,2}#?[0-9A-Za-z-]{1,6})?",
     NULL, ctx_address, 0, LI, 1, 1, 0, pii_gate_street},
};

const size_t pii_n_rules = sizeof(pii_rules) / sizeof(pii_rules[0]);

_Static_assert(sizeof(pii_rules) / sizeof(pii_rules[0]) < 65536, "detector index is uint16_t");

/* ---- types ------------------------------------------------------------------------- */

struct pii_type_row {
    const char *name;
    int severity;
    const char *description;
};

#define SENS PII_SEVERITY_SENSITIVE
#define PERS PII_SEVERITY_PERSONAL

static const struct pii_type_row types[PII_TYPE_COUNT] = {
    [PII_TYPE_EMAIL_ADDRESS] = {"EMAIL_ADDRESS", PERS, "e-mail address (RFC 5321 shape)"},
    [PII_TYPE_PHONE_NUMBER] = {"PHONE_NUMBER", PERS,
                               "phone number: E.164, North American, UK, EU, China, India "
                               "layouts; bare digit runs only with a phone word nearby"},
    [PII_TYPE_CREDIT_CARD] = {"CREDIT_CARD", SENS,
                              "payment card number: Luhn check and issuer prefix, with or "
                              "without separators"},
    [PII_TYPE_US_SSN] = {"US_SSN", SENS,
                         "US social security number; never-issued ranges rejected, bare 9 "
                         "digits only with context"},
    [PII_TYPE_US_ITIN] = {"US_ITIN", SENS, "US individual taxpayer identification number"},
    [PII_TYPE_IBAN_CODE] = {"IBAN_CODE", SENS,
                            "international bank account number: mod-97 and per-country "
                            "length"},
    [PII_TYPE_IP_ADDRESS] = {"IP_ADDRESS", PERS, "IPv4 or IPv6 address (parsed)"},
    [PII_TYPE_MAC_ADDRESS] = {"MAC_ADDRESS", PERS, "MAC address (colon, dash or Cisco dots)"},
    [PII_TYPE_URL_BASIC_AUTH] = {"URL_BASIC_AUTH", SENS,
                                 "URL with an embedded user name and password"},
    [PII_TYPE_DATE_OF_BIRTH] = {"DATE_OF_BIRTH", PERS,
                                "a valid date next to a birth word (born, DOB, birthday...)"},
    [PII_TYPE_US_PASSPORT] = {"US_PASSPORT", SENS,
                              "US passport number (9 digits or letter + 8), context required"},
    [PII_TYPE_US_DRIVER_LICENSE] = {"US_DRIVER_LICENSE", SENS,
                                    "US driver's licence number (state layouts), context "
                                    "required"},
    [PII_TYPE_UK_NHS] = {"UK_NHS", SENS, "UK NHS number (modulus 11), context required"},
    [PII_TYPE_CN_RESIDENT_ID] = {"CN_RESIDENT_ID", SENS,
                                 "China resident identity number (GB 11643 checksum and "
                                 "birth date)"},
    [PII_TYPE_IN_AADHAAR] = {"IN_AADHAAR", SENS,
                             "India Aadhaar number (Verhoeff); unspaced only with context"},
    [PII_TYPE_CRYPTO] = {"CRYPTO", PERS,
                         "cryptocurrency address: Bitcoin base58check / bech32(m), "
                         "Ethereum (EIP-55 when mixed case)"},
    [PII_TYPE_AWS_ACCESS_KEY] = {"AWS_ACCESS_KEY", SENS, "AWS access key id (AKIA..., ASIA...)"},
    [PII_TYPE_AWS_SECRET_KEY] = {"AWS_SECRET_KEY", SENS,
                                 "AWS secret access key assigned to an aws/secret name"},
    [PII_TYPE_GITHUB_TOKEN] = {"GITHUB_TOKEN", SENS, "GitHub token (ghp_, gho_, github_pat_...)"},
    [PII_TYPE_SLACK_TOKEN] = {"SLACK_TOKEN", SENS, "Slack token (xox?-) or webhook URL"},
    [PII_TYPE_GOOGLE_API_KEY] = {"GOOGLE_API_KEY", SENS, "Google API key (AIza...)"},
    [PII_TYPE_STRIPE_KEY] = {"STRIPE_KEY", SENS, "Stripe secret or restricted key"},
    [PII_TYPE_JWT] = {"JWT", SENS, "JSON web token (header decodes to a JSON object)"},
    [PII_TYPE_PRIVATE_KEY] = {"PRIVATE_KEY", SENS, "PEM private key block"},
    [PII_TYPE_GENERIC_API_KEY] = {"GENERIC_API_KEY", SENS,
                                  "key/secret/token/password = value with high entropy"},
    [PII_TYPE_PERSON] = {"PERSON", PERS,
                         "person name after an introduction or title (my name is, Mr, Dear); "
                         "low recall"},
    [PII_TYPE_STREET_ADDRESS] = {"STREET_ADDRESS", PERS,
                                 "US-style street address (number, name, suffix) next to an "
                                 "address word; low recall"},
};

const char *pii_type_name(int type)
{
    return type >= 0 && type < PII_TYPE_COUNT ? types[type].name : "?";
}

int pii_type_severity(int type)
{
    return type >= 0 && type < PII_TYPE_COUNT ? types[type].severity : PII_SEVERITY_PERSONAL;
}

const char *pii_type_description(int type)
{
    return type >= 0 && type < PII_TYPE_COUNT ? types[type].description : "";
}

size_t pii_detector_count(void)
{
    return pii_n_rules;
}

const char *pii_detector_name(int detector)
{
    return detector >= 0 && (size_t)detector < pii_n_rules ? pii_rules[detector].id : "?";
}
