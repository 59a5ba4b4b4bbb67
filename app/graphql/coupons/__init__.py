"""Member care's coupons tab in the schema: a customer's codes and redemptions, and resendCoupon."""
