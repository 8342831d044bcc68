"""What the work costs: prices (`prices`), the record of every API call (`calls`), the daily roll-up (`usage`),
and estimates and budgets (`budgets`)."""
