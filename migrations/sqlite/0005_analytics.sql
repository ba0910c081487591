-- Indexes for the sales analytics (src/backoffice/analytics), which read orders by
-- the time they were placed. Each carries the columns its queries need, so a period's
-- figures come from the index alone, without visiting the table's rows.

-- Orders per day and status, revenue, and the customers of a period.
CREATE INDEX orders_by_time ON orders (created_at, status, total_minor, user_id);

-- The lines of the period's sold orders, summed per product.
CREATE INDEX order_lines_sales ON order_lines (order_id, product_id, quantity, line_total_minor);

-- The refunds paid out in a period.
CREATE INDEX payments_by_kind ON payments (kind, created_at, outcome, amount_minor);
