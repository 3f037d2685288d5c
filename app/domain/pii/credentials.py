"""Passwords, PINs and one-time codes that customers type into a message.

"my password is hunter2", "mot de passe : Soleil2024!", "Passwort lautet
Sommer2024", "PIN 4821", "the code: 482913", "Bestätigungscode 482913".
Only the value goes; the words around it stay so the agent and the model
still know what the customer shared.  A value that is plainly an ordinary
word ("my password is wrong", "le mot de passe est incorrect") is not a
password, and a "code" that is an error, postal, promo or tracking code is
not a one-time code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from app.domain.pii import Span

__all__ = ["passwords_and_codes"]

# With the usual typos ("pasword", "passwrod", "mot de pass").
_PASSWORD_NAME = (
    r"pas{1,2}w(?:or|ro|o)r?d|pass\s+word|passwort|passwd|pwd|passcode|pass\s?phrase|kennwort"
    r"|contraseña|contrasena|clave|mot\s+de\s+passe?|mdp"
)
# Short names that are ordinary words too ("boarding pass"): only with ":" or "=".
_TERSE_PASSWORD_NAME = r"pass|pw|pswd|psw"
_PIN_NAME = r"pin(?:[- ]?code)?|code\s+pin|pin-nummer|geheimzahl"
_ONE_TIME_CODE_NAME = (
    r"(?:verification|confirmation|one[- ]time|login|sign[- ]in|sms|2fa|mfa|auth(?:entication)?"
    r"|access|reset|security)\s+code|otp|tan|code\s+(?:de\s+)?(?:v[ée]rification|confirmation"
    r"|validation|s[ée]curit[ée])|(?:best[äa]tigungs|einmal|verifizierungs|sms-?|login-?|zugangs)"
    r"code|c[óo]digo\s+de\s+(?:verificaci[óo]n|confirmaci[óo]n|acceso|seguridad)"
)
_NAMES = re.compile(
    rf"(?i)(?<![\w-])(?:(?P<password>{_PASSWORD_NAME})|(?P<terse>{_TERSE_PASSWORD_NAME})(?=[ \t]?[:=])"
    rf"|(?P<pin>{_PIN_NAME})"
    rf"|(?P<otp>{_ONE_TIME_CODE_NAME})|(?P<code>code|c[óo]digo))(?![\w-])"
)
_SAYS = r"(?:(?:is|was|est|était|ist|war|lautet|es|era|è)(?!\w)|[:=]|->|→)"
# "password is X", "password for the portal is X", "mot de passe du compte : X":
# up to four short words may stand between the name and the value.
_PASSWORD_VALUE = re.compile(
    r"(?:[ \t]{1,2}[^\W\d_]{1,20}+){0,4}?"
    rf"[ \t,]{{0,3}}(?:{_SAYS}[ \t]{{0,3}}){{1,2}}"
    r"(?:(?:now|still|maintenant|toujours|jetzt|noch|ahora|todavía)[ \t]{1,3})?"
    r"(?P<value>[^\s\"'“”«»‘’`]{1,64}+|[\"'“«‘`][^\"'”»’`\n]{1,64}+[\"'”»’`])"
)
_DIGITS = r"(?P<value>[0-9]{3}[ -][0-9]{3}|[0-9]{4,8})(?![0-9]|[.,/][0-9])"
_DIGITS_VALUE = re.compile(rf"[ \t:=#]{{0,4}}(?:{_SAYS}[ \t]{{0,3}})?{_DIGITS}")
# A plain "code" is a secret only when the text gives it as one ("code: 482913",
# "the code was 482913"); "error code 4012" and "code 4012" stay.
_SAID_DIGITS_VALUE = re.compile(rf"[ \t]{{0,3}}{_SAYS}[ \t]{{0,3}}{_DIGITS}")
# Words a sentence puts after "password is" that are not the password.
_NOT_A_PASSWORD = frozenset(
    (
        "not", "wrong", "incorrect", "invalid", "correct", "right", "too", "still", "the", "a",
        "an", "my", "your", "being", "no", "expired", "blocked", "locked", "reset", "changed",
        "rejected", "forgotten", "lost", "case", "required", "empty", "working", "accepted",
        "different", "same", "also", "now", "and", "or", "but", "that", "which", "for", "to",
        "in", "on", "of", "at", "with", "from", "this", "it", "pas", "plus", "faux", "fausse",
        "invalide", "bloqué", "bloque", "expiré", "expire", "ne", "le", "la", "les", "un", "une",
        "mon", "ma", "nicht", "falsch", "ungültig", "abgelaufen", "gesperrt", "kein", "keine",
        "der", "die", "das", "mein", "meine", "nie", "incorrecta", "incorrecto", "inválida",
        "invalida", "bloqueada", "caducada", "mal", "el", "ya", "mi", "tu", "su", "nuevo",
        "nueva", "new", "old", "ancien", "nouveau", "neue", "neues", "alt", "sent", "envoyé",
        "broken", "here", "there", "attached", "below", "above", "ready", "valid", "sensitive",
        "simple", "easy", "short", "long", "weak", "strong",
    )
)  # fmt: skip
# A "code" right after these words is not a secret: "error code 5001", "code postal".
_PUBLIC_CODE_BEFORE = re.compile(
    r"(?i)(?:error|postal|zip|post|area|status|promo|promotional|discount|coupon|voucher|country"
    r"|product|tracking|reference|gift|referral|order|erreur|fehler|descuento|cup[óo]n|produit"
    r"|produkt|source|http|response|bar|qr|dial|cost|tax|article|item)\W{1,3}$"
)
_TRAILING = ".,;:!?)]}"


def _password_value(text: str, position: int) -> tuple[int, int] | None:
    match = _PASSWORD_VALUE.match(text, position)
    if match is None:
        return None
    start, end = match.span("value")
    value = match.group("value")
    if value[0] in "\"'“«‘`":
        return start + 1, end - 1
    stripped = value.rstrip(_TRAILING)
    # A trailing "!" is as often the password's as the sentence's: it goes too.
    if value.endswith("!") and stripped:
        stripped = value.rstrip(".,;:?)]}")
    if not stripped or stripped.lower() in _NOT_A_PASSWORD or stripped.startswith("["):
        return None
    return start, start + len(stripped)


def passwords_and_codes(text: str) -> Iterator[Span]:
    """The values of passwords, PINs and one-time codes given in ``text``."""
    for name in _NAMES.finditer(text):
        if name.group("password") or name.group("terse"):
            found = _password_value(text, name.end())
            if found:
                yield Span(found[0], found[1], "password")
            continue
        value = _SAID_DIGITS_VALUE if name.group("code") else _DIGITS_VALUE
        match = value.match(text, name.end())
        if match is None:
            continue
        if name.group("code") and _PUBLIC_CODE_BEFORE.search(
            text, max(0, name.start() - 16), name.start()
        ):
            continue
        kind = "password" if name.group("pin") else "code"
        yield Span(match.start("value"), match.end("value"), kind)
