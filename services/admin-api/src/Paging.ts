/**
 * Paging over a list ordered by a string key: the page token is the last key of the previous page
 * (base64url, opaque to clients), so a page never repeats or skips an object that existed throughout,
 * even when others are added or removed between pages. Pure.
 */
import { Result } from "effect"
import { InvalidArgument } from "./AdminErrors.js"

export const DEFAULT_PAGE_SIZE = 100
export const MAX_PAGE_SIZE = 1000

export interface Page<T> {
  readonly items: ReadonlyArray<T>
  /** "" on the last page. */
  readonly nextPageToken: string
}

export const encodePageToken = (key: string): string => Buffer.from(key, "utf8").toString("base64url")

export const decodePageToken = (token: string): Result.Result<string | undefined, InvalidArgument> => {
  if (token === "") return Result.succeed(undefined)
  if (!/^[A-Za-z0-9_-]{1,1400}$/.test(token))
    return Result.fail(
      new InvalidArgument({ field: "page_token", reason: "not a token from a previous page" }),
    )
  return Result.succeed(Buffer.from(token, "base64url").toString("utf8"))
}

/** 0 means the default; above the maximum is cut to it. */
export const pageSizeOf = (requested: number): number =>
  requested === 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE)

/** One page of `items` (any order): those whose key follows the token's, in key order. */
export const pageOf = <T>(
  items: ReadonlyArray<T>,
  keyOf: (item: T) => string,
  request: { readonly pageSize: number; readonly pageToken: string },
): Result.Result<Page<T>, InvalidArgument> =>
  Result.map(decodePageToken(request.pageToken), (after) => {
    const size = pageSizeOf(request.pageSize)
    const sorted = [...items]
      .filter((item) => after === undefined || keyOf(item) > after)
      .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0))
    const page = sorted.slice(0, size)
    const last = page[page.length - 1]
    return {
      items: page,
      nextPageToken: sorted.length > size && last !== undefined ? encodePageToken(keyOf(last)) : "",
    }
  })
