DROP TRIGGER IF EXISTS orders_status_audit;
DROP TABLE order_events;
