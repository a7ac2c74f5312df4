"""Company research: financials, valuation, industries, news, AI outlook, indicators."""
