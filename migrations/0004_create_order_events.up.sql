-- migrate:phase pre-deploy
-- An audit trail filled by a trigger: the trigger body holds semicolons, and no DELIMITER is
-- needed because the splitter understands BEGIN ... END.
CREATE TABLE order_events (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id BIGINT UNSIGNED NOT NULL,
  event VARCHAR(40) NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY order_events_order_idx (order_id)
);

CREATE TRIGGER orders_status_audit AFTER UPDATE ON orders FOR EACH ROW
BEGIN
  IF NEW.status <> OLD.status THEN
    INSERT INTO order_events (order_id, event) VALUES (NEW.id, CONCAT('status:', NEW.status));
  END IF;
END;
