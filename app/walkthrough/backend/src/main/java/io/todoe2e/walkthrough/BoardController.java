package io.todoe2e.walkthrough;

import io.todoe2e.walkthrough.Model.BadInput;
import io.todoe2e.walkthrough.Model.CreateItemInput;
import io.todoe2e.walkthrough.Model.Item;
import io.todoe2e.walkthrough.Model.MoveItemInput;
import io.todoe2e.walkthrough.Model.TaskList;
import java.util.List;
import org.springframework.graphql.data.method.annotation.Argument;
import org.springframework.graphql.data.method.annotation.MutationMapping;
import org.springframework.graphql.data.method.annotation.QueryMapping;
import org.springframework.stereotype.Controller;

/** GraphQL query and mutations of the board (schema: resources/graphql/board.graphqls). */
@Controller
class BoardController {

    private final Board board;

    BoardController(Board board) {
        this.board = board;
    }

    @QueryMapping
    List<TaskList> lists() {
        return board.lists();
    }

    @MutationMapping
    Item createItem(@Argument CreateItemInput input) {
        if (input.listId() == null) {
            throw new BadInput("listId is required");
        }
        return board.createItem(input.name(), input.listId());
    }

    @MutationMapping
    Item moveItem(@Argument long id, @Argument MoveItemInput input) {
        if (input.listId() == null || input.position() == null) {
            throw new BadInput("listId and position are required");
        }
        return board.moveItem(id, input.listId(), input.position());
    }

    @MutationMapping
    boolean deleteItem(@Argument long id) {
        return board.deleteItem(id);
    }

    @MutationMapping
    TaskList createList(@Argument String name) {
        return board.createList(name);
    }

    @MutationMapping
    TaskList updateList(@Argument long id, @Argument String name) {
        return board.updateList(id, name);
    }

    @MutationMapping
    boolean deleteList(@Argument long id) {
        return board.deleteList(id);
    }
}
