"""The books' reads: lists, balances and reports. Selectors never write."""
