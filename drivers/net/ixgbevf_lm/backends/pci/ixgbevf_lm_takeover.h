/* SPDX-License-Identifier: BSD-3-Clause
 * Taking a VF from another driver that registered its PCI IDs first. The PCI bus tries drivers in
 * the order of its driver list (a BSD TAILQ); a plugin loaded with -d registers after the drivers
 * linked into the application (net_ixgbe's VF driver in Debian's testpmd). move_before() moves
 * our entry in front of the named driver. It needs no access to the bus's private list head: from
 * our entry, tqe_prev leads backwards; the element whose tqe_prev is the head is recognised by the
 * head's tqh_last pointing at the last element's tqe_next.
 *
 * Pure: works on any struct with a TAILQ_ENTRY member, unit-tested on a fake list.
 */
#pragma once

#include <cstddef>
#include <cstring>

namespace ixgbevf_lm::pmd {

/* Layout of a TAILQ_HEAD / TAILQ_ENTRY of T. */
template <class T>
struct TqHead {
  T *tqh_first;
  T **tqh_last;
};

/* Entry accessors: Next(e) is e's TAILQ_ENTRY, Name(e) its driver name. */
template <class T, class Next, class Name>
struct TakeoverList {
  Next next;
  Name name;

  /* The head of the list `self` is on, or nullptr when self is not on a list. self must be last. */
  TqHead<T> *find_head(T *self) const {
    if (!next(self).tqe_prev || next(self).tqe_next)
      return nullptr;
    T **last_next = &next(self).tqe_next;
    T **p = next(self).tqe_prev;
    for (unsigned guard = 0; guard < 100000; guard++) {
      auto *h = reinterpret_cast<TqHead<T> *>(p);
      if (h->tqh_last == last_next && is_head(h, self))
        return h;
      /* p is &prev->next.tqe_next: step to prev */
      T *prev = container_of_next(p);
      p = next(prev).tqe_prev;
    }
    return nullptr;
  }

  /* Move self in front of the first entry named victim. True when self now precedes it. */
  bool move_before(T *self, const char *victim) const {
    TqHead<T> *h = find_head(self);
    if (!h)
      return false;
    T *v = nullptr;
    for (T *e = h->tqh_first; e; e = next(e).tqe_next) {
      if (e == self)
        return false;          /* already ahead of any victim after us */
      if (name(e) && !strcmp(name(e), victim)) {
        v = e;
        break;
      }
    }
    if (!v)
      return false;
    /* remove self (last element) */
    *next(self).tqe_prev = nullptr;
    h->tqh_last = next(self).tqe_prev;
    /* insert before v */
    next(self).tqe_prev = next(v).tqe_prev;
    next(self).tqe_next = v;
    *next(v).tqe_prev = self;
    next(v).tqe_prev = &next(self).tqe_next;
    return true;
  }

 private:
  bool is_head(TqHead<T> *h, T *self) const {
    /* walking forward from the candidate head must reach self and end there */
    unsigned guard = 0;
    for (T *e = h->tqh_first; e && guard < 100000; e = next(e).tqe_next, guard++)
      if (e == self)
        return next(e).tqe_next == nullptr;
    return false;
  }
  T *container_of_next(T **p) const {
    /* offset of the entry's tqe_next inside T, measured on a probe object's address arithmetic */
    alignas(T) static unsigned char probe_mem[sizeof(T)];
    T *probe = reinterpret_cast<T *>(probe_mem);
    size_t off = size_t(reinterpret_cast<unsigned char *>(&next(probe).tqe_next) - probe_mem);
    return reinterpret_cast<T *>(reinterpret_cast<unsigned char *>(p) - off);
  }
};

}  // namespace ixgbevf_lm::pmd
