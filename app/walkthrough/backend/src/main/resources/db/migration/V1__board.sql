-- The board: lists and their items; an item goes with its list.
CREATE TABLE lists (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    position INT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE items (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    position INT NOT NULL,
    list_id BIGINT NOT NULL,
    CONSTRAINT fk_items_list FOREIGN KEY (list_id) REFERENCES lists (id) ON DELETE CASCADE,
    INDEX idx_items_list_position (list_id, position)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
