// The share link: the source lives in the URL's fragment (after #), which the
// browser never sends to a server, so nothing is stored anywhere.
//
//   #name=quiz.cnn&z=BASE64URL   the UTF-8 text, deflate-compressed (CompressionStream)
//   #name=quiz.cnn&src=BASE64URL the UTF-8 text as is (read too; written where
//                                CompressionStream is missing)

function toBase64Url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

async function pipe(bytes, stream) {
  const response = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await response.arrayBuffer());
}

export async function encodeShare(text, filename) {
  const params = new URLSearchParams();
  params.set("name", filename);
  const bytes = new TextEncoder().encode(text);
  if (typeof CompressionStream === "function") {
    params.set("z", toBase64Url(await pipe(bytes, new CompressionStream("deflate-raw"))));
  } else {
    params.set("src", toBase64Url(bytes));
  }
  return params.toString();
}

// {text, filename} from a fragment (without the #), or null when it holds no source.
export async function decodeShare(fragment) {
  const params = new URLSearchParams(fragment);
  const filename = params.get("name") || "network.cnn";
  let bytes;
  if (params.has("z")) {
    bytes = await pipe(fromBase64Url(params.get("z")), new DecompressionStream("deflate-raw"));
  } else if (params.has("src")) {
    bytes = fromBase64Url(params.get("src"));
  } else {
    return null;
  }
  return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes), filename };
}
