import { Injectable } from '@angular/core';

/** One item of a list, as the GraphQL API returns it (ids are GraphQL IDs: strings). */
export interface Item {
  id: string;
  name: string;
  position: number;
  listId: string;
}

/** One list of the board with its items in order. */
export interface TaskList {
  id: string;
  name: string;
  position: number;
  items: Item[];
}

declare global {
  interface Window {
    TODO_CONFIG?: { serverUri?: string };
  }
}

const LIST_FIELDS = 'id name position items { id name position listId }';

/** The back end's GraphQL endpoint: http://<SERVER_URI>/graphql, SERVER_URI taken from the runtime config.js. */
export function graphqlUrl(serverUri: string | undefined): string {
  const raw = (serverUri ?? '').trim().replace(/\/+$/, '');
  if (!raw) {
    throw new Error('SERVER_URI is not configured (config.js sets window.TODO_CONFIG.serverUri)');
  }
  return /^https?:\/\//.test(raw) ? `${raw}/graphql` : `http://${raw}/graphql`;
}

/** A thin GraphQL client over fetch; it remembers which replica answered last (X-Served-By). */
@Injectable({ providedIn: 'root' })
export class BoardService {
  readonly url = graphqlUrl(window.TODO_CONFIG?.serverUri);
  servedBy = '';

  private async call<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    this.servedBy = response.headers.get('X-Served-By') ?? '';
    if (!response.ok) {
      throw new Error(`the back end answered HTTP ${response.status}`);
    }
    const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors?.length) {
      throw new Error(body.errors.map((e) => e.message).join('; '));
    }
    return body.data as T;
  }

  async lists(): Promise<TaskList[]> {
    return (await this.call<{ lists: TaskList[] }>(`{ lists { ${LIST_FIELDS} } }`)).lists;
  }

  async createItem(name: string, listId: string): Promise<Item> {
    const query = 'mutation($input: CreateItemInput!) { createItem(input: $input) { id name position listId } }';
    return (await this.call<{ createItem: Item }>(query, { input: { name, listId } })).createItem;
  }

  async moveItem(id: string, listId: string, position: number): Promise<Item> {
    const query =
      'mutation($id: ID!, $input: MoveItemInput!) { moveItem(id: $id, input: $input) { id name position listId } }';
    return (await this.call<{ moveItem: Item }>(query, { id, input: { listId, position } })).moveItem;
  }

  async deleteItem(id: string): Promise<boolean> {
    return (await this.call<{ deleteItem: boolean }>('mutation($id: ID!) { deleteItem(id: $id) }', { id }))
      .deleteItem;
  }
}
