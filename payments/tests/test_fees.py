import pytest

from payments.stripe_api import platform_fee_minor


@pytest.mark.parametrize(
    ("percent", "amount_minor", "fee_minor"),
    [
        ("1", 2500, 25),  # £25.00 → £0.25
        ("1", 1050, 11),  # €10.50 → 10.5 cents, half rounds up
        ("1", 149, 1),  # 1.49 → 1
        ("1", 150, 2),  # 1.5 → 2
        ("1", 0, 0),
        ("1", 3000, 30),  # ¥3,000 (JPY has no minor unit) → ¥30
        ("1", 1250, 13),  # ¥1,250 → 12.5 → ¥13
        ("2.5", 199, 5),  # 4.975 → 5
        ("0", 5000, 0),
    ],
)
def test_the_platform_fee_is_a_percentage_rounded_half_up(
    settings, percent, amount_minor, fee_minor
):
    settings.PLATFORM_FEE_PERCENT = percent
    assert platform_fee_minor(amount_minor) == fee_minor
