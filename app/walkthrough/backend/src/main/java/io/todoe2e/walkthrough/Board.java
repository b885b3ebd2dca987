package io.todoe2e.walkthrough;

import io.todoe2e.walkthrough.Model.BadInput;
import io.todoe2e.walkthrough.Model.Item;
import io.todoe2e.walkthrough.Model.NotFound;
import io.todoe2e.walkthrough.Model.TaskList;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.support.GeneratedKeyHolder;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.annotation.Isolation;
import org.springframework.transaction.annotation.Transactional;

/**
 * The board in SQL: tables `lists` and `items`; positions are 0-based and contiguous within a list.
 *
 * <p>Every write locks the rows of the lists it touches first, so writers of one list (from any replica) take
 * turns. Writes run READ COMMITTED: under MySQL's default REPEATABLE READ a writer that waited for the lock would
 * still see the snapshot from before it waited and renumber positions from stale rows.
 */
@Repository
class Board {

    static final int MAX_NAME = 200;

    private final JdbcClient jdbc;

    Board(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    static String checkedName(String raw) {
        String name = raw == null ? "" : raw.strip();
        if (name.isEmpty() || name.length() > MAX_NAME) {
            throw new BadInput("name must be 1-" + MAX_NAME + " characters after trimming, got " + name.length());
        }
        return name;
    }

    @Transactional(readOnly = true)
    List<TaskList> lists() {
        Map<Long, List<Item>> byList = new LinkedHashMap<>();
        for (Item item : jdbc.sql("SELECT id, name, position, list_id FROM items ORDER BY position, id")
                .query((rs, n) -> new Item(rs.getLong(1), rs.getString(2), rs.getInt(3), rs.getLong(4)))
                .list()) {
            byList.computeIfAbsent(item.listId(), k -> new ArrayList<>()).add(item);
        }
        return jdbc.sql("SELECT id, name, position FROM lists ORDER BY position, id")
                .query((rs, n) -> new TaskList(rs.getLong(1), rs.getString(2), rs.getInt(3),
                        byList.getOrDefault(rs.getLong(1), List.of())))
                .list();
    }

    /** Lock the lists (in id order, so two movers cannot deadlock) and fail if any is missing. */
    private void lockLists(long... ids) {
        List<Long> wanted = java.util.Arrays.stream(ids).distinct().sorted().boxed().toList();
        List<Long> found = jdbc.sql("SELECT id FROM lists WHERE id IN (:ids) ORDER BY id FOR UPDATE")
                .param("ids", wanted).query(Long.class).list();
        for (Long id : wanted) {
            if (!found.contains(id)) {
                throw new NotFound("list " + id + " does not exist");
            }
        }
    }

    private Item item(long id) {
        return jdbc.sql("SELECT id, name, position, list_id FROM items WHERE id = ?").param(id)
                .query((rs, n) -> new Item(rs.getLong(1), rs.getString(2), rs.getInt(3), rs.getLong(4)))
                .optional().orElseThrow(() -> new NotFound("item " + id + " does not exist"));
    }

    private TaskList list(long id) {
        return lists().stream().filter(l -> l.id() == id).findFirst()
                .orElseThrow(() -> new NotFound("list " + id + " does not exist"));
    }

    @Transactional(isolation = Isolation.READ_COMMITTED)
    Item createItem(String rawName, long listId) {
        String name = checkedName(rawName);
        lockLists(listId);
        int position = jdbc.sql("SELECT COALESCE(MAX(position) + 1, 0) FROM items WHERE list_id = ?")
                .param(listId).query(Integer.class).single();
        var keys = new GeneratedKeyHolder();
        jdbc.sql("INSERT INTO items (name, position, list_id) VALUES (?, ?, ?)")
                .params(name, position, listId).update(keys, "id");
        return new Item(keys.getKey().longValue(), name, position, listId);
    }

    @Transactional(isolation = Isolation.READ_COMMITTED)
    Item moveItem(long id, long listId, int position) {
        long from = item(id).listId();
        lockLists(from, listId);
        // Re-read under the locks: a concurrent move may have changed the item's list meanwhile.
        Item current = item(id);
        if (current.listId() != from) {
            lockLists(current.listId());
            from = current.listId();
        }
        List<Long> source = idsIn(from, id);
        List<Long> target = from == listId ? source : idsIn(listId, id);
        int at = Math.max(0, Math.min(position, target.size()));
        target.add(at, id);
        jdbc.sql("UPDATE items SET list_id = ? WHERE id = ?").params(listId, id).update();
        renumber(target);
        if (from != listId) {
            renumber(source);
        }
        return new Item(id, current.name(), at, listId);
    }

    private List<Long> idsIn(long listId, long except) {
        return new ArrayList<>(jdbc.sql("SELECT id FROM items WHERE list_id = ? AND id <> ? ORDER BY position, id")
                .params(listId, except).query(Long.class).list());
    }

    private void renumber(List<Long> ids) {
        for (int i = 0; i < ids.size(); i++) {
            jdbc.sql("UPDATE items SET position = ? WHERE id = ? AND position <> ?").params(i, ids.get(i), i).update();
        }
    }

    @Transactional(isolation = Isolation.READ_COMMITTED)
    boolean deleteItem(long id) {
        var owner = jdbc.sql("SELECT list_id FROM items WHERE id = ?").param(id).query(Long.class).optional();
        if (owner.isEmpty()) {
            return false;
        }
        lockLists(owner.get());
        boolean deleted = jdbc.sql("DELETE FROM items WHERE id = ?").param(id).update() == 1;
        renumber(idsIn(owner.get(), id));
        return deleted;
    }

    @Transactional(isolation = Isolation.READ_COMMITTED)
    TaskList createList(String rawName) {
        String name = checkedName(rawName);
        // The table lock orders concurrent creators so no two lists get the same position.
        jdbc.sql("SELECT id FROM lists ORDER BY id FOR UPDATE").query(Long.class).list();
        int position = jdbc.sql("SELECT COALESCE(MAX(position) + 1, 0) FROM lists").query(Integer.class).single();
        var keys = new GeneratedKeyHolder();
        jdbc.sql("INSERT INTO lists (name, position) VALUES (?, ?)").params(name, position).update(keys, "id");
        return new TaskList(keys.getKey().longValue(), name, position, List.of());
    }

    @Transactional(isolation = Isolation.READ_COMMITTED)
    TaskList updateList(long id, String rawName) {
        String name = checkedName(rawName);
        lockLists(id);
        jdbc.sql("UPDATE lists SET name = ? WHERE id = ?").params(name, id).update();
        return list(id);
    }

    @Transactional(isolation = Isolation.READ_COMMITTED)
    boolean deleteList(long id) {
        // Items go with their list (ON DELETE CASCADE in the schema).
        return jdbc.sql("DELETE FROM lists WHERE id = ?").param(id).update() == 1;
    }
}
