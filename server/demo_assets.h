// The demo page's files (server/demo/: HTML, CSS, JavaScript), built into the
// binary by server/embed_files.cmake so that it serves them with nothing
// beside it and fetches nothing from anywhere else. server/http_server.h
// serves each at its path, and index.html at "/" too.
//
// Immutable: safe from any thread.
#ifndef MOVIEREC_SERVER_DEMO_ASSETS_H_
#define MOVIEREC_SERVER_DEMO_ASSETS_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace movierec {

struct DemoAsset {
  const char* path;          // "/index.html"
  const char* content_type;  // "text/html; charset=utf-8"
  absl::string_view body;
};

// Every file, in server/demo/'s order (sorted by name).
absl::Span<const DemoAsset> DemoAssets();

}  // namespace movierec

#endif  // MOVIEREC_SERVER_DEMO_ASSETS_H_
