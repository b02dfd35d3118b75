"""Identity detectors: find a person's identity in a value that should hold none.

A source may put another person's identity where the manifest permits only operational
text: "Jan Jansen 123456782 Dorpsstraat 4, 1234 AB" typed into a contact point, or a
BSN used as a record key or a FHIR resource id. The boundary runs these detectors on
every field the manifest marks `form: free_text` or `form: identifier` (the record key
always counts as an identifier), and the leak guard runs them over what the hub wrote.

A finding is a rule name and a field name, never the value. The rules:

- `bsn`: nine ASCII digits that pass the eleven-test, as a whole token (no letter or
  digit either side, so "DJI-123456782" and "bsn: 123456782" count, "x123456782y" and
  a hex hash do not), written solid or in the notations people type: 1234.56.782,
  123 456 782, 123-456-782.
- `known_bsn`: any such 9-digit token, eleven-test or not, that is the BSN of a person
  the vault holds (its internal pseudonym, computed as the boundary computes a BSN's,
  is in the vault) or of a person in the same batch. Exact: it never fires on an
  unknown number, and it catches a known person's BSN with a bad check digit.
- `postcode_house_number`: a Dutch postcode with a house number beside it, either way
  round ("1234 AB 12", "1234AB, 12a", "Dorpsstraat 4, 1234 AB"), its letters in capitals
  as written on post ("2023 en 12" is prose). A postcode alone names a street, not a
  person, and is not a finding.
- `full_date`: any full calendar date (ISO 1990-05-17, Dutch 17-05-1990, 17/5/1990,
  17.05.1990, "17 mei 1990"). In free text any full date counts as a possible date of
  birth: no operational text needs one. Two-digit years are not read.
- `phone`: a Dutch number (06-12345678, 020-1234567, (020) 123 4567, +31 6 1234 5678,
  +31 (0)20 ..., 0031 ...) or an international one (+32 ..., 0049 ...).
- `email`: an e-mail address, except a field's declared functional mailboxes: its
  manifest lists `mailbox_roles`, and a local part that is a role, or a role followed
  by "-" and a name ("team", "team-utrecht"), is the organisation's, not a person's.
- `iban`: an IBAN (ISO 13616: the country's length where known, mod-97 check), solid or
  in groups of four, any case.

Identifiers are held to what an identifier itself could be: `bsn`, `known_bsn`,
`email` and `iban` (a record key is legitimately a code with digits, dates and
dashes; phone and date patterns would fire on ordinary keys).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from datetime import date

from ketenbrug.privacy.bsn import is_valid_bsn  # the one eleven-test
from ketenbrug.privacy.pseudonyms import Pseudonymiser
from ketenbrug.privacy.vault import IdentityVault

FREE_TEXT = "free_text"
IDENTIFIER = "identifier"
FORMS = (FREE_TEXT, IDENTIFIER)
RULES = ("bsn", "known_bsn", "postcode_house_number", "full_date", "phone", "email", "iban")
IDENTIFIER_RULES = ("bsn", "known_bsn", "email", "iban")

# Every rule needs a digit, except an e-mail address: most operational text is skipped
# after one search.
_SIGNAL = re.compile(r"[0-9@]")
_DIGIT = re.compile(r"[0-9]")
# Not the digits of a decimal fraction ("elapsed": 0.123456782 in a dbt log).
_NINE = re.compile(
    r"(?<![0-9A-Za-z])(?<![0-9][.,])(?:[0-9]{9}|[0-9]{4}\.[0-9]{2}\.[0-9]{3}"
    r"|[0-9]{3}([ .-])[0-9]{3}\1[0-9]{3})(?![0-9A-Za-z])(?![.,][0-9])")
_NOT_DIGIT = re.compile(r"[^0-9]")

_PC = r"[1-9][0-9]{3} ?[A-Z]{2}"
_HOUSE = r"[0-9]{1,5}(?: ?[A-Za-z]{1,3}\b|-[0-9A-Za-z]{1,4})?"  # 12, 12a, 12 bis, 12-2
_POSTCODE_HOUSE = re.compile(
    rf"(?<![0-9A-Za-z]){_PC}(?![A-Za-z])[ ]*,?[ ]*{_HOUSE}(?![0-9])"
    # From a word's start only: a long run of letters must not be retried at every letter.
    rf"|(?<![^\W\d_])[^\W\d_]{{2,}}[ ]+{_HOUSE}[ ]*,?[ ]+{_PC}(?![A-Za-z0-9])")

_MONTHS = {
    "januari": 1, "jan": 1, "january": 1, "februari": 2, "feb": 2, "february": 2,
    "maart": 3, "mrt": 3, "mar": 3, "march": 3, "april": 4, "apr": 4, "mei": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6, "juli": 7, "jul": 7, "july": 7, "augustus": 8,
    "aug": 8, "august": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10,
    "oct": 10, "october": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
_ISO_DATE = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})-([0-9]{1,2})-([0-9]{1,2})(?![0-9])")
_DMY_DATE = re.compile(r"(?<![0-9])([0-9]{1,2})([-/.])([0-9]{1,2})\2((?:19|20)[0-9]{2})(?![0-9])")
_NAMED_DATE = re.compile(
    r"(?<![0-9])([0-9]{1,2})\.? +(" + "|".join(sorted(_MONTHS, key=len, reverse=True))
    + r")\.? +((?:19|20)[0-9]{2})(?![0-9])", re.IGNORECASE)

_SEP = r"[ .-]?"
_PHONE = re.compile(
    r"(?<![0-9A-Za-z+])(?:"
    rf"(?:\+|00)31{_SEP}(?:\(0\){_SEP})?[1-9](?:{_SEP}[0-9]){{8}}"  # +31 6 1234 5678
    rf"|0[1-9](?:{_SEP}[0-9]){{8}}"  # 06-12345678, 020-1234567
    r"|\(0[1-9][0-9]{1,2}\) ?[0-9](?:[ .-]?[0-9]){5,6}"  # (020) 123 4567, digit count below
    rf"|(?:\+|00)(?!31)[1-9][0-9]{{0,2}}{_SEP}[0-9](?:{_SEP}[0-9]){{6,11}}"  # international
    r")(?![0-9])")

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-]+)@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                    r"\.[A-Za-z]{2,}")

_IBAN = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,34}", re.IGNORECASE)
# The ISO 13616 registry: country and IBAN length. A code outside it is no IBAN, however
# its check digits fall (1 in 97 random tokens, e.g. hex pseudonyms, would pass mod-97).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def nine_digit_numbers(text: str) -> list[str]:
    """Every 9-digit token in `text`, separators removed (the `bsn`/`known_bsn` tokens)."""
    return [_NOT_DIGIT.sub("", m.group()) for m in _NINE.finditer(text)]


def find_identities(text: str, form: str = FREE_TEXT, *, mailbox_roles: Sequence[str] = (),
                    known_bsns: AbstractSet[str] = frozenset(),
                    only: Sequence[str] = ()) -> list[str]:
    """The rules (in RULES order) that find an identity in `text`, read as `form`.

    `known_bsns` are the 9-digit numbers known to be a person's BSN (KnownBsns.among);
    `mailbox_roles` the field's functional mailboxes; `only` runs just those rules.
    Refuses (ValueError) an unknown form or rule.
    """
    if form not in FORMS:
        raise ValueError(f"unknown field form {form!r}; known: {', '.join(FORMS)}")
    if unknown := set(only) - set(RULES):
        raise ValueError(f"unknown detector rule(s) {sorted(unknown)}; known: {', '.join(RULES)}")
    if not _SIGNAL.search(text):
        return []
    rules: tuple[str, ...] = IDENTIFIER_RULES if form == IDENTIFIER else RULES
    if only:
        rules = tuple(r for r in rules if r in only)
    if not _DIGIT.search(text):  # a mailbox like team-utrecht@rn.example: e-mail is all
        rules = tuple(r for r in rules if r == "email")
    found = []
    for rule in rules:
        if _DETECTORS[rule](text, mailbox_roles, known_bsns):
            found.append(rule)
    return found


def is_valid_iban(candidate: str) -> bool:
    """ISO 13616: a registry country, its length, letters and digits only, mod 97 = 1."""
    iban = candidate.replace(" ", "").upper()
    expected = IBAN_LENGTHS.get(iban[:2])
    if not iban.isascii() or not iban.isalnum():
        return False
    if expected is None or len(iban) != expected:
        return False
    if not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


class KnownBsns:
    """Which 9-digit numbers are the BSN of a person the vault holds, asked once per batch.

    A number's internal pseudonym is computed as the boundary computes a BSN's (basis
    `bsn:<digits>`, privacy.pseudonyms.linkage_basis) and looked up in the vault: exact,
    whatever the eleven-test says, and no number is ever decrypted or kept.
    """

    def __init__(self, internal: Pseudonymiser | None, vault: IdentityVault | None):
        """Without a pseudonymiser and vault (a hub with none yet) only `also` is known."""
        self._internal = internal
        self._vault = vault

    def among(self, numbers: Iterable[str], also: AbstractSet[str] = frozenset()) -> set[str]:
        """The `numbers` that are a known person's BSN; `also` are BSNs known otherwise
        (the batch's own identities, not yet in the vault)."""
        wanted = sorted(set(numbers))
        known = {n for n in wanted if n in also}
        unknown = [n for n in wanted if n not in known]
        if not unknown or self._vault is None or self._internal is None:
            return known
        pseudonyms = self._internal.pseudonyms([f"bsn:{n}" for n in unknown])
        held = self._vault.known(pseudonyms)
        return known | {n for n, p in zip(unknown, pseudonyms, strict=True) if p in held}


def _bsn(text: str, _roles: Sequence[str], _known: AbstractSet[str]) -> bool:
    return any(is_valid_bsn(n) for n in nine_digit_numbers(text))


def _known_bsn(text: str, _roles: Sequence[str], known: AbstractSet[str]) -> bool:
    return bool(known) and any(n in known for n in nine_digit_numbers(text))


def _postcode_house_number(text: str, _roles: Sequence[str], _known: AbstractSet[str]) -> bool:
    return _POSTCODE_HOUSE.search(text) is not None


def _full_date(text: str, _roles: Sequence[str], _known: AbstractSet[str]) -> bool:
    for year, month, day in ((m[1], m[2], m[3]) for m in _ISO_DATE.finditer(text)):
        if _is_date(year, month, day):
            return True
    for day, _, month, year in (m.groups() for m in _DMY_DATE.finditer(text)):
        if _is_date(year, month, day):
            return True
    for day, month_name, year in (m.groups() for m in _NAMED_DATE.finditer(text)):
        if _is_date(year, _MONTHS[month_name.lower()], day):
            return True
    return False


def _phone(text: str, _roles: Sequence[str], _known: AbstractSet[str]) -> bool:
    ibans: list[tuple[int, int]] | None = None
    for match in _PHONE.finditer(text):
        number = match.group()
        # "(020) 123 4567": an area code in brackets, ten digits in all.
        if number.startswith("(") and len(_NOT_DIGIT.sub("", number)) != 10:
            continue
        # The account digits of a grouped IBAN ("NL91 ABNA 0417 1643 00") read as a number.
        ibans = _iban_spans(text) if ibans is None else ibans
        if not any(start <= match.start() < end for start, end in ibans):
            return True
    return False


def _email(text: str, roles: Sequence[str], _known: AbstractSet[str]) -> bool:
    return any(not _functional(m.group(1), roles) for m in _EMAIL.finditer(text))


def _iban(text: str, _roles: Sequence[str], _known: AbstractSet[str]) -> bool:
    return bool(_iban_spans(text))


def _iban_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _IBAN.finditer(text):
        compact = match.group().replace(" ", "").upper()
        # Groups of four run on into the next word; the country's length says where it ends.
        expected = IBAN_LENGTHS.get(compact[:2])
        end = _end_after(text, match.start(), expected or len(compact))
        # ...but not into letters or digits that follow without a space: that is a longer
        # token (a hex pseudonym, a hash) whose start happens to pass mod-97.
        if end < len(text) and text[end].isalnum():
            continue
        if is_valid_iban(compact[:expected] if expected else compact):
            spans.append((match.start(), end))
    return spans


def _end_after(text: str, start: int, alnum_chars: int) -> int:
    """Where the first `alnum_chars` letters and digits from `start` end (spaces skipped),
    or the text's end when it ends sooner (an IBAN-like start cut off by the end)."""
    seen, index = 0, start
    while seen < alnum_chars and index < len(text):
        seen += text[index] != " "
        index += 1
    return index


def _functional(local_part: str, roles: Sequence[str]) -> bool:
    local = local_part.casefold()
    return any(local == role or (local.startswith(role + "-") and _SLUG.fullmatch(
        local[len(role) + 1:])) for role in roles)


_SLUG = re.compile(r"[a-z]+(?:-[a-z]+)*")  # a place or team name: no number hides in it


def _is_date(year: str, month: str | int, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


_DETECTORS = {
    "bsn": _bsn, "known_bsn": _known_bsn, "postcode_house_number": _postcode_house_number,
    "full_date": _full_date, "phone": _phone, "email": _email, "iban": _iban,
}
