"""The size of the amounts a budget column holds (numeric(10, 2)), in a module with no models, so that settings,
the models, the forms and the services share one limit and none of them sends the database a figure it would
refuse."""

from decimal import Decimal

BUDGET_DIGITS = 10
BUDGET_PLACES = 2
MOST_USD = Decimal(10 ** (BUDGET_DIGITS - BUDGET_PLACES)) - Decimal("0.01")
