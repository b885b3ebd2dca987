import { Component, inject, OnInit, signal } from '@angular/core';

import { BoardService, Item, TaskList } from './board.service';

/** The name of the list new items go to. */
export const INBOX = 'To Do';

/** The board page: add an item to "To Do", move items between lists, delete them. */
@Component({
  selector: 'app-root',
  templateUrl: './app.component.html',
})
export class AppComponent implements OnInit {
  private readonly board = inject(BoardService);

  readonly lists = signal<TaskList[]>([]);
  readonly draft = signal('');
  readonly status = signal('Loading…');
  readonly servedBy = signal('');
  readonly busy = signal(false);

  ngOnInit(): void {
    void this.run(async () => undefined, '');
  }

  /** Run one action, then reload the board; failures are shown in the status line, never swallowed. */
  private async run(action: () => Promise<unknown>, done: string): Promise<void> {
    this.busy.set(true);
    try {
      await action();
      this.lists.set(await this.board.lists());
      this.status.set(done || 'Board loaded');
    } catch (error) {
      this.status.set(`Error: ${error instanceof Error ? error.message : String(error)} (${this.board.url})`);
    } finally {
      this.servedBy.set(this.board.servedBy);
      this.busy.set(false);
    }
  }

  others(list: TaskList): TaskList[] {
    return this.lists().filter((l) => l.id !== list.id);
  }

  refresh(): void {
    void this.run(async () => undefined, 'Board loaded');
  }

  add(event: Event): void {
    event.preventDefault();
    const name = this.draft().trim();
    const inbox = this.lists().find((l) => l.name === INBOX);
    if (!name) {
      this.status.set('Error: type a name first');
      return;
    }
    if (!inbox) {
      this.status.set(`Error: the board has no "${INBOX}" list`);
      return;
    }
    void this.run(() => this.board.createItem(name, inbox.id), `Added "${name}"`).then(() => this.draft.set(''));
  }

  move(item: Item, target: TaskList): void {
    void this.run(
      () => this.board.moveItem(item.id, target.id, target.items.length),
      `Moved "${item.name}" to ${target.name}`,
    );
  }

  remove(item: Item): void {
    void this.run(() => this.board.deleteItem(item.id), `Deleted "${item.name}"`);
  }
}
