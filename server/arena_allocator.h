// A gRPC message allocator that puts a call's request and response on one
// protobuf Arena whose first block lives inside the holder. A Recommend
// response is a dozen messages and some forty strings; on the heap each is
// an allocation and a free (malloc and free were a tenth of the server's
// CPU under load), on the arena they cost one allocation, freed at once when
// gRPC releases the call.
#ifndef MOVIEREC_SERVER_ARENA_ALLOCATOR_H_
#define MOVIEREC_SERVER_ARENA_ALLOCATOR_H_

#include <google/protobuf/arena.h>
#include <grpcpp/support/message_allocator.h>

#include <cstddef>

namespace movierec {

template <typename Request, typename Response>
class ArenaMessageAllocator final
    : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override {
    return new Holder();
  }

 private:
  // Enough for a Recommend call of up to a few dozen movies without a second
  // block; larger calls (RecommendBatch) grow the arena as needed.
  static constexpr size_t kFirstBlockBytes = 8192;

  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(first_block_)) {
      this->set_request(
          google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(
          google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block) {
      google::protobuf::ArenaOptions options;
      options.initial_block = block;
      options.initial_block_size = kFirstBlockBytes;
      return options;
    }

    // Declared before the arena, which is built on it.
    alignas(std::max_align_t) char first_block_[kFirstBlockBytes];
    google::protobuf::Arena arena_;
  };
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_ARENA_ALLOCATOR_H_
