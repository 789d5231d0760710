"""Account and card numbers: their shape and their Luhn check digits."""

# Any account number the API accepts: 6 to 20 digits (new accounts get 10, see services).
ACCOUNT_NUMBER_REGEX = r"[0-9]{6,20}"


def luhn_check_digit(body: str) -> str:
    """The digit that, appended to `body`, makes a number that passes the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:  # these are doubled once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_luhn_valid(number: str) -> bool:
    return number.isdigit() and len(number) > 1 and luhn_check_digit(number[:-1]) == number[-1]
