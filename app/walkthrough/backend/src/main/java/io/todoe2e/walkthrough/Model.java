package io.todoe2e.walkthrough;

import java.util.List;

/** The GraphQL types and inputs of the board, as plain records. */
final class Model {

    private Model() {
    }

    /** One list of the board (To Do, Doing, Done, ...) with its items in position order. */
    record TaskList(long id, String name, int position, List<Item> items) {
    }

    /** One item; `position` is its 0-based index within its list. */
    record Item(long id, String name, int position, long listId) {
    }

    /** Input of createItem. */
    record CreateItemInput(String name, Long listId) {
    }

    /** Input of moveItem: the target list and the index to insert at (clamped to the list's length). */
    record MoveItemInput(Long listId, Integer position) {
    }

    /** A request that names something that does not exist. */
    static final class NotFound extends RuntimeException {
        NotFound(String message) {
            super(message);
        }
    }

    /** A request whose input breaks a rule (for example an empty name). */
    static final class BadInput extends RuntimeException {
        BadInput(String message) {
            super(message);
        }
    }
}
